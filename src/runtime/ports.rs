//! The RTC port range shared by all workers, and binding UDP sockets inside it.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU32, Ordering};

/// Hands out ports of the configured range round-robin, skipping ports the system refuses.
#[derive(Debug)]
pub struct PortRange {
    range: RangeInclusive<u16>,
    cursor: AtomicU32,
}

impl PortRange {
    /// A range of ports (inclusive on both ends).
    pub fn new(range: RangeInclusive<u16>) -> Self {
        Self {
            range,
            cursor: AtomicU32::new(0),
        }
    }

    fn len(&self) -> u32 {
        u32::from(*self.range.end()) - u32::from(*self.range.start()) + 1
    }

    /// Binds a UDP socket on `ip` at the next free port of the range; `AddrNotAvailable` when the
    /// address cannot be bound, `AddrInUse` when every port is taken.
    pub fn bind_udp(&self, ip: IpAddr) -> io::Result<UdpSocket> {
        let len = self.len();
        for _ in 0..len {
            let offset = self.cursor.fetch_add(1, Ordering::Relaxed) % len;
            let port = *self.range.start() + offset as u16;
            match UdpSocket::bind(SocketAddr::new(ip, port)) {
                Ok(socket) => return Ok(socket),
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!(
                "no free UDP port in {}-{}",
                self.range.start(),
                self.range.end()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn binds_inside_the_range_and_reports_exhaustion() {
        let probe = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let range = PortRange::new(port..=port);
        let socket = range.bind_udp(Ipv4Addr::LOCALHOST.into()).unwrap();
        assert_eq!(socket.local_addr().unwrap().port(), port);
        let err = range.bind_udp(Ipv4Addr::LOCALHOST.into()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    }
}
