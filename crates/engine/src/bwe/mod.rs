//! Receive-side bandwidth feedback toward senders: what a publisher needs to hear so its congestion
//! controller ramps its bitrate up (and backs off) instead of staying at its start bitrate.
//!
//! Owns: per transport, either the transport-wide arrival record that transport-cc feedback is built from
//! ([`TransportCcRecorder`], draft-holmer-rmcat-transport-wide-cc-extensions-01) — the sender estimates
//! the bandwidth itself (GoogCC) — or, when the sender only negotiated `goog-remb`, a simple receive-side
//! estimate to send as REMB ([`RembEstimator`], draft-alvestrand-rmcat-remb-03). Must not: build RTCP
//! beyond handing the builder its statuses, read the clock, or allocate per packet.

pub mod remb_estimator;
pub mod transport_cc_recorder;

pub use remb_estimator::RembEstimator;
pub use transport_cc_recorder::TransportCcRecorder;
