//! NTP timestamps as RTCP carries them (RFC 3550 §4, §6.4.1): the 64-bit 32.32 fixed-point form in SRs and
//! the "compact" middle 32 bits (16.16) of LSR and DLSR in report blocks; round-trip time from a report
//! block (§6.4.1, A − LSR − DLSR).
//!
//! Pure functions: wall-clock time is an input (a [`Duration`] since the Unix epoch), never read here.
//! NTP era wrap-around (2036) is modulo arithmetic for the compact form; the 64-bit conversions assume era 0.

use std::time::Duration;

/// Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01).
pub const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;

/// The 64-bit NTP timestamp of a time given as a duration since the Unix epoch.
pub fn ntp_from_unix(since_unix_epoch: Duration) -> u64 {
    let secs = since_unix_epoch
        .as_secs()
        .wrapping_add(NTP_UNIX_OFFSET_SECS);
    let frac = (u64::from(since_unix_epoch.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// The time since the Unix epoch of a 64-bit NTP timestamp (zero for times before 1970).
pub fn ntp_to_unix(ntp: u64) -> Duration {
    let secs = (ntp >> 32).saturating_sub(NTP_UNIX_OFFSET_SECS);
    if ntp >> 32 < NTP_UNIX_OFFSET_SECS {
        return Duration::ZERO;
    }
    let nanos = ((ntp & 0xFFFF_FFFF) * 1_000_000_000) >> 32;
    Duration::new(secs, nanos as u32)
}

/// The compact form (middle 32 bits) of a 64-bit NTP timestamp: what a report block's LSR holds.
pub fn ntp_to_compact(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// A duration in compact units (1/65536 s), rounded to nearest and saturating: what a report block's DLSR
/// holds. [`compact_to_duration`] followed by this gives the compact value back.
pub fn duration_to_compact(d: Duration) -> u32 {
    let units = ((d.as_nanos() << 16) + 500_000_000) / 1_000_000_000;
    u32::try_from(units).unwrap_or(u32::MAX)
}

/// A compact value (1/65536 s) as a duration.
pub fn compact_to_duration(compact: u32) -> Duration {
    let nanos = (u64::from(compact) * 1_000_000_000) >> 16;
    Duration::from_nanos(nanos)
}

/// The round-trip time from a report block received at `arrival` (compact NTP) carrying `last_sr` and
/// `delay_since_last_sr`: `A − LSR − DLSR`, modulo 2^32. `None` when no SR was received yet (`LSR = 0`);
/// zero when clock skew makes the result negative.
pub fn round_trip_time(arrival: u32, last_sr: u32, delay_since_last_sr: u32) -> Option<Duration> {
    if last_sr == 0 {
        return None;
    }
    let rtt = arrival
        .wrapping_sub(last_sr)
        .wrapping_sub(delay_since_last_sr);
    // More than half the range means the subtraction went below zero.
    Some(if rtt > u32::MAX / 2 {
        Duration::ZERO
    } else {
        compact_to_duration(rtt)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3550 §6.4.1 figure 2: LSR 0xb705:2030 (46 853.125 s), A 0xb710:8000 (46 864.500 s),
    /// DLSR 0x0005:4000 (5.250 s), so the RTT is 0x0006:2000 (6.125 s). The figure's decimal values are
    /// rounded: exactly, A − LSR − DLSR is 0x0006:1FD0 (6.1243 s).
    #[test]
    fn rfc3550_rtt_example() {
        assert_eq!(
            compact_to_duration(0x0005_4000),
            Duration::from_millis(5250)
        );
        assert_eq!(
            duration_to_compact(Duration::from_millis(5250)),
            0x0005_4000
        );
        let rtt = round_trip_time(0xB710_8000, 0xB705_2030, 0x0005_4000).unwrap();
        assert_eq!(duration_to_compact(rtt), 0x0006_1FD0);
        assert!(Duration::from_millis(6125) - rtt < Duration::from_millis(1));
    }

    #[test]
    fn rtt_edges() {
        assert_eq!(round_trip_time(100, 0, 0), None);
        assert_eq!(round_trip_time(100, 90, 20), Some(Duration::ZERO));
        // Across the 32-bit wrap of the compact clock.
        assert_eq!(
            round_trip_time(0x0001_0000, 0xFFFF_8000, 0x0000_4000),
            Some(Duration::from_millis(1250))
        );
    }

    #[test]
    fn unix_round_trip() {
        let t = Duration::new(1_700_000_000, 250_000_000);
        let ntp = ntp_from_unix(t);
        assert_eq!(ntp >> 32, 1_700_000_000 + NTP_UNIX_OFFSET_SECS);
        assert_eq!(ntp & 0xFFFF_FFFF, 0x4000_0000);
        assert_eq!(ntp_to_unix(ntp), t);
        assert_eq!(ntp_to_compact(ntp), ((ntp >> 32) as u32) << 16 | 0x4000);
        assert_eq!(ntp_to_unix(0), Duration::ZERO);
        // Sub-nanosecond truncation stays within a nanosecond.
        let t = Duration::new(1, 123_456_789);
        let back = ntp_to_unix(ntp_from_unix(t));
        assert!(t - back < Duration::from_nanos(2));
    }

    #[test]
    fn compact_saturates() {
        assert_eq!(duration_to_compact(Duration::from_secs(70_000)), u32::MAX);
    }
}
