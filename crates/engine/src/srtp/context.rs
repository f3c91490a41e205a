//! Per-SSRC cryptographic state: the rollover counter and highest sequence number with the packet index
//! estimation of RFC 3711 §3.3.1 and Appendix A, the SRTCP index (§3.4), and their replay windows.

use super::replay::ReplayWindow;

/// Largest SRTP packet index (48 bits).
const MAX_RTP_INDEX: i64 = (1 << 48) - 1;

/// Largest SRTCP index (31 bits).
pub(crate) const MAX_RTCP_INDEX: u32 = 0x7fff_ffff;

/// RTP state of one SSRC: ROC and `s_l` are the high and low halves of `window.highest()`.
#[derive(Clone, Debug)]
pub(crate) struct RtpContext {
    pub(crate) window: ReplayWindow,
}

impl RtpContext {
    /// State for an SSRC first seen with `index` (ROC 0 on first sight, RFC 3711 §3.3.1).
    pub(crate) fn new(index: u64) -> Self {
        RtpContext {
            window: ReplayWindow::new(index),
        }
    }

    /// RFC 3711 Appendix A: the index of `seq` given the highest index so far. `None` when the guess falls
    /// before index 0 or past 2^48 - 1 (a packet from before this stream began, or an exhausted ROC).
    pub(crate) fn estimate(&self, seq: u16) -> Option<u64> {
        estimate_index(self.window.highest(), seq)
    }
}

/// The packet index estimate of RFC 3711 Appendix A relative to the highest index `highest`.
pub(crate) fn estimate_index(highest: u64, seq: u16) -> Option<u64> {
    let roc = (highest >> 16) as i64;
    let s_l = i64::from(highest as u16);
    let seq = i64::from(seq);
    let v = if s_l < 32_768 {
        if seq - s_l > 32_768 { roc - 1 } else { roc }
    } else if s_l - 32_768 > seq {
        roc + 1
    } else {
        roc
    };
    let index = (v << 16) | seq;
    (0..=MAX_RTP_INDEX).contains(&index).then_some(index as u64)
}

/// ROC of a 48-bit index.
pub(crate) fn roc_of(index: u64) -> u32 {
    (index >> 16) as u32
}

/// SRTCP state of one SSRC: the last index sent (outbound) and the indices received (inbound; `None` until
/// the first authenticated packet).
#[derive(Clone, Debug, Default)]
pub(crate) struct RtcpContext {
    pub(crate) last_sent: u32,
    pub(crate) received: Option<ReplayWindow>,
}

impl RtcpContext {
    /// Reserves the next outbound SRTCP index (the first is 1, as libsrtp sends), `None` once 2^31 - 1 is
    /// used up and the session must be rekeyed (RFC 3711 §9.2).
    pub(crate) fn next_index(&mut self) -> Option<u32> {
        if self.last_sent >= MAX_RTCP_INDEX {
            return None;
        }
        self.last_sent += 1;
        Some(self.last_sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(roc: u64, seq: u16) -> u64 {
        (roc << 16) | u64::from(seq)
    }

    #[test]
    fn appendix_a_index_estimation() {
        // Forward, no wrap.
        assert_eq!(estimate_index(index(0, 100), 101), Some(index(0, 101)));
        // Late packet from before the highest one.
        assert_eq!(estimate_index(index(0, 100), 90), Some(index(0, 90)));
        // Sequence wrap: highest near the top, new packet near zero → ROC + 1.
        assert_eq!(estimate_index(index(3, 65_530), 2), Some(index(4, 2)));
        // After the wrap a late packet from the previous cycle → ROC - 1.
        assert_eq!(estimate_index(index(4, 2), 65_530), Some(index(3, 65_530)));
        // A packet "from before" the first cycle has no valid index.
        assert_eq!(estimate_index(index(0, 2), 65_530), None);
        // The last ROC cannot roll over.
        assert_eq!(estimate_index(index(u64::from(u32::MAX), 65_530), 2), None);
    }

    #[test]
    fn srtcp_index_runs_out_at_2_pow_31() {
        let mut sent = RtcpContext::default();
        assert_eq!(sent.next_index(), Some(1));
        sent.last_sent = MAX_RTCP_INDEX - 1;
        assert_eq!(sent.next_index(), Some(MAX_RTCP_INDEX));
        assert_eq!(sent.next_index(), None);
    }
}
