//! Per-stream state of the packet path: what a producer knows of each incoming stream ([`RtpStreamRecv`])
//! and what a consumer knows of its outgoing one ([`RtpStreamSend`]), built from small parts.
//!
//! Each type is small, owns one concern and is tested on its own; producers and consumers compose them.

pub mod jitter;
pub mod keyframe_requests;
pub mod nack_generator;
pub mod rate;
pub mod recv;
pub mod retransmission_buffer;
pub mod send;
pub mod seq_rewriter;
pub mod sequence;

pub use jitter::JitterEstimator;
pub use keyframe_requests::KeyframeRequests;
pub use nack_generator::{NackGenerator, NackVerdict};
pub use rate::RateCalculator;
pub use recv::{RecvStats, RtpStreamRecv};
pub use retransmission_buffer::RetransmissionBuffer;
pub use send::{RtpStreamSend, SendStats};
pub use seq_rewriter::{SeqRewriter, is_older};
pub use sequence::{SequenceTracker, SequenceVerdict};
