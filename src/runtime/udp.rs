//! Batched UDP I/O: `recvmmsg` into buffers allocated once, and `sendmmsg` of the engine's outbox grouped
//! by socket. Nothing here allocates per packet, and no `unsafe` is ours (nix wraps the system calls).

use std::io::{self, IoSlice, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::RawFd;

use mediagate_engine::net::{Outbox, SocketRef};
use nix::errno::Errno;
use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg, sendmmsg};

/// Datagrams read or written per system call.
pub(crate) const BATCH: usize = 32;
/// Largest datagram read; anything longer is truncated, flagged as such, and dropped by the caller.
pub(crate) const RECV_BUFFER: usize = 2048;

/// The buffers and message headers of one worker's socket I/O.
pub(crate) struct UdpBatch {
    buffers: Box<[[u8; RECV_BUFFER]; BATCH]>,
    /// Length, sender, and whether the kernel truncated it (`MSG_TRUNC`), of each datagram read.
    received: [(usize, Option<SocketAddr>, bool); BATCH],
    recv_headers: MultiHeaders<SockaddrStorage>,
    send_headers: MultiHeaders<SockaddrStorage>,
    /// Destinations of one sendmmsg, filled for the messages sent only (a sockaddr is 128 bytes: building
    /// all [`BATCH`] per call cost more than the copy of the packet itself).
    send_addresses: [Option<SockaddrStorage>; BATCH],
    /// Indices of the outbox's transmits, sorted by socket before sending.
    order: Vec<u32>,
}

impl UdpBatch {
    pub(crate) fn new() -> Self {
        Self {
            buffers: Box::new([[0; RECV_BUFFER]; BATCH]),
            received: [(0, None, false); BATCH],
            recv_headers: MultiHeaders::preallocate(BATCH, None),
            send_headers: MultiHeaders::preallocate(BATCH, None),
            send_addresses: [None; BATCH],
            order: Vec::new(),
        }
    }

    /// Reads up to [`BATCH`] datagrams from `fd`; returns how many (0 when nothing is pending).
    pub(crate) fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        let mut slices = self
            .buffers
            .each_mut()
            .map(|b| [IoSliceMut::new(&mut b[..])]);
        let results = match recvmmsg(
            fd,
            &mut self.recv_headers,
            slices.iter_mut(),
            MsgFlags::MSG_DONTWAIT,
            None,
        ) {
            Ok(results) => results,
            Err(Errno::EAGAIN | Errno::EINTR) => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        let mut count = 0;
        for (slot, message) in self.received.iter_mut().zip(results) {
            *slot = (
                message.bytes.min(RECV_BUFFER),
                message.address.and_then(|a| socket_addr(&a)),
                message.flags.contains(MsgFlags::MSG_TRUNC),
            );
            count += 1;
        }
        Ok(count)
    }

    /// The `i`-th datagram of the last [`UdpBatch::recv`]: its bytes, its sender, and whether it was longer
    /// than [`RECV_BUFFER`] (then the bytes are only its beginning).
    pub(crate) fn datagram(&mut self, i: usize) -> (&mut [u8], Option<SocketAddr>, bool) {
        let (len, from, truncated) = self.received[i];
        (&mut self.buffers[i][..len], from, truncated)
    }

    /// Sends every transmit of `outbox` (grouped by socket, in order within a socket) and clears it.
    /// `fd_of` gives the descriptor of a socket; transmits whose socket is gone are dropped. Returns the
    /// number of datagrams the kernel refused (a full buffer or an unreachable destination).
    pub(crate) fn send(
        &mut self,
        outbox: &mut Outbox,
        fd_of: impl Fn(SocketRef) -> Option<RawFd>,
    ) -> u64 {
        let transmits = outbox.transmits();
        self.order.clear();
        self.order.extend(0..transmits.len() as u32);
        self.order.sort_by_key(|&i| transmits[i as usize].socket);
        let mut failed = 0;
        let mut start = 0;
        while start < self.order.len() {
            let socket = transmits[self.order[start] as usize].socket;
            let run_end = self.order[start..]
                .iter()
                .position(|&i| transmits[i as usize].socket != socket)
                .map_or(self.order.len(), |p| start + p);
            let Some(fd) = fd_of(socket) else {
                start = run_end;
                continue;
            };
            while start < run_end {
                let n = (run_end - start).min(BATCH);
                let run = &self.order[start..start + n];
                let mut slices = [[IoSlice::new(&[])]; BATCH];
                for ((slice, address), &i) in
                    slices.iter_mut().zip(&mut self.send_addresses).zip(run)
                {
                    let transmit = &transmits[i as usize];
                    *slice = [IoSlice::new(transmit.bytes())];
                    *address = Some(SockaddrStorage::from(transmit.destination));
                }
                match sendmmsg(
                    fd,
                    &mut self.send_headers,
                    slices[..n].iter(),
                    &self.send_addresses[..n],
                    [],
                    MsgFlags::MSG_DONTWAIT,
                ) {
                    // A short count means the next datagram was refused: the loop retries from it, and
                    // an error on that retry drops it.
                    Ok(results) => match results.count() {
                        0 => {
                            failed += 1;
                            start += 1;
                        }
                        sent => start += sent,
                    },
                    Err(Errno::EINTR) => {}
                    Err(_) => {
                        // The first datagram failed (full buffer, unreachable): drop it, go on.
                        failed += 1;
                        start += 1;
                    }
                }
            }
            start = run_end;
        }
        outbox.clear();
        failed
    }
}

fn socket_addr(address: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = address.as_sockaddr_in() {
        return Some(SocketAddr::V4((*v4).into()));
    }
    address
        .as_sockaddr_in6()
        .map(|v6| SocketAddr::V6((*v6).into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;

    #[test]
    fn receives_and_sends_in_batches() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let c = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut io = UdpBatch::new();
        let mut outbox = Outbox::new();
        for i in 0..40u8 {
            let (socket, to) = if i % 2 == 0 {
                (SocketRef(1), b.local_addr().unwrap())
            } else {
                (SocketRef(2), c.local_addr().unwrap())
            };
            outbox.push(socket, to, |buf| {
                buf[0] = i;
                1
            });
        }
        let fd = a.as_raw_fd();
        assert_eq!(io.send(&mut outbox, |_| Some(fd)), 0);
        assert!(outbox.is_empty());
        b.set_nonblocking(true).unwrap();
        let mut got = Vec::new();
        loop {
            let n = io.recv(b.as_raw_fd()).unwrap();
            if n == 0 {
                break;
            }
            for i in 0..n {
                let (bytes, from, truncated) = io.datagram(i);
                assert_eq!(from, Some(a.local_addr().unwrap()));
                assert!(!truncated);
                got.push(bytes[0]);
            }
        }
        // Order within one destination is kept.
        assert_eq!(got, (0..40).step_by(2).collect::<Vec<u8>>());
    }

    #[test]
    fn a_datagram_longer_than_the_buffer_is_flagged_truncated() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = b.local_addr().unwrap();
        // An RTP-looking datagram whose first RECV_BUFFER bytes would parse as a whole packet.
        let mut long = vec![0xab; RECV_BUFFER + 1];
        long[..2].copy_from_slice(&[0x80, 101]);
        a.send_to(&long, to).unwrap();
        a.send_to(&long[..RECV_BUFFER], to).unwrap();
        let mut io = UdpBatch::new();
        let mut seen = Vec::new();
        // Loopback delivers on send; the bound only guards against a hang.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while seen.len() < 2 && std::time::Instant::now() < deadline {
            let n = io.recv(b.as_raw_fd()).unwrap();
            for i in 0..n {
                let (bytes, _, truncated) = io.datagram(i);
                seen.push((bytes.len(), truncated));
            }
        }
        assert_eq!(seen, [(RECV_BUFFER, true), (RECV_BUFFER, false)]);
    }
}
