//! ICE-TCP passive connections (RFC 6544): the worker accepts TCP connections on its shared WebRTC port
//! number and carries STUN, DTLS, RTP and RTCP over them with RFC 4571 framing (a 16-bit big-endian length
//! before each packet).
//!
//! Owns: one accepted connection's byte streams — reassembling frames from reads, framing and buffering
//! writes. Must not: route (the worker does, through the shared port's demux index) or block: reads and writes
//! are non-blocking, and a peer that stops reading loses packets rather than stalling the worker.

use std::io::{self, Read, Write};
use std::net::SocketAddr;

use mediagate_engine::ids::{RoomId, TransportId};
use mio::net::TcpStream;

/// Largest RFC 4571 frame.
const MAX_FRAME: usize = u16::MAX as usize;
/// Bytes waiting to be written before new packets are dropped (media is late anyway past this).
const MAX_PENDING_WRITE: usize = 1 << 20;

/// One accepted ICE-TCP connection.
pub(crate) struct TcpConnection {
    pub(crate) stream: TcpStream,
    pub(crate) peer: SocketAddr,
    /// The transport whose ICE server validated this connection, once one has.
    pub(crate) owner: Option<(RoomId, TransportId)>,
    read_buf: Vec<u8>,
    read_len: usize,
    write_buf: Vec<u8>,
    /// Packets dropped because the peer did not read fast enough.
    pub(crate) dropped_writes: u64,
}

/// What a read produced.
pub(crate) enum ReadOutcome {
    /// Frames may be ready ([`TcpConnection::next_frame`]).
    Data,
    /// Nothing more to read now.
    WouldBlock,
    /// The peer closed or the connection failed.
    Closed,
}

impl TcpConnection {
    pub(crate) fn new(stream: TcpStream, peer: SocketAddr) -> Self {
        Self {
            stream,
            peer,
            owner: None,
            read_buf: vec![0; 2 + MAX_FRAME],
            read_len: 0,
            write_buf: Vec::new(),
            dropped_writes: 0,
        }
    }

    /// Reads what the socket has into the frame buffer (at most until the buffer is full).
    pub(crate) fn read(&mut self) -> ReadOutcome {
        if self.read_len == self.read_buf.len() {
            return ReadOutcome::Data;
        }
        match self.stream.read(&mut self.read_buf[self.read_len..]) {
            Ok(0) => ReadOutcome::Closed,
            Ok(n) => {
                self.read_len += n;
                ReadOutcome::Data
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => ReadOutcome::WouldBlock,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => ReadOutcome::Data,
            Err(_) => ReadOutcome::Closed,
        }
    }

    /// Copies the next complete frame into `out` and returns its length, or `None` when no whole frame is
    /// buffered. A frame longer than `out` is skipped (counted by the caller as truncated) and reported with
    /// its full length.
    pub(crate) fn next_frame(&mut self, out: &mut [u8]) -> Option<usize> {
        let (len, used) = next_frame_in(&self.read_buf[..self.read_len], out)?;
        self.read_buf.copy_within(used..self.read_len, 0);
        self.read_len -= used;
        Some(len)
    }

    /// Queues one framed packet and writes what the socket takes now.
    pub(crate) fn send(&mut self, packet: &[u8]) {
        if packet.len() > MAX_FRAME || self.write_buf.len() + 2 + packet.len() > MAX_PENDING_WRITE {
            self.dropped_writes += 1;
            return;
        }
        self.write_buf
            .extend_from_slice(&(packet.len() as u16).to_be_bytes());
        self.write_buf.extend_from_slice(packet);
        self.flush();
    }

    /// Writes pending bytes until the socket would block; false when the connection failed.
    pub(crate) fn flush(&mut self) -> bool {
        while !self.write_buf.is_empty() {
            match self.stream.write(&self.write_buf) {
                Ok(0) => return false,
                Ok(n) => {
                    self.write_buf.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        true
    }
}

/// The first RFC 4571 frame of `buf`: copied into `out` (or skipped when larger) — `(frame length, bytes
/// consumed)`.
fn next_frame_in(buf: &[u8], out: &mut [u8]) -> Option<(usize, usize)> {
    let header = buf.get(..2)?;
    let len = usize::from(u16::from_be_bytes([header[0], header[1]]));
    let frame = buf.get(2..2 + len)?;
    if let Some(dst) = out.get_mut(..len) {
        dst.copy_from_slice(frame);
    }
    Some((len, 2 + len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_cut_at_their_length_prefix() {
        let stream = [0, 3, b'a', b'b', b'c', 0, 0, 0, 2, b'x'];
        let mut out = [0u8; 8];
        assert_eq!(next_frame_in(&stream, &mut out), Some((3, 5)));
        assert_eq!(&out[..3], b"abc");
        // An empty frame is a frame.
        assert_eq!(next_frame_in(&stream[5..], &mut out), Some((0, 2)));
        // An incomplete one waits for more bytes.
        assert_eq!(next_frame_in(&stream[7..], &mut out), None);
        assert_eq!(next_frame_in(&stream[..1], &mut out), None);
    }

    #[test]
    fn a_frame_larger_than_the_buffer_is_skipped_whole() {
        let mut stream = vec![0, 10];
        stream.extend_from_slice(&[7; 10]);
        let mut out = [0u8; 4];
        assert_eq!(next_frame_in(&stream, &mut out), Some((10, 12)));
        assert_eq!(out, [0; 4]);
    }
}
