//! Per-stream state of the packet path: receive-side sequence tracking and send-side rewriting.
//!
//! Each type is small, owns one concern and is tested on its own; producers and consumers compose them.

pub mod jitter;
pub mod keyframe_requests;
pub mod rate;
pub mod retransmission_buffer;
pub mod seq_rewriter;
pub mod sequence;

pub use jitter::JitterEstimator;
pub use keyframe_requests::KeyframeRequests;
pub use rate::RateCalculator;
pub use retransmission_buffer::RetransmissionBuffer;
pub use seq_rewriter::{SeqRewriter, is_older};
pub use sequence::{SequenceTracker, SequenceVerdict};
