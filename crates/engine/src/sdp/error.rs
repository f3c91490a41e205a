//! The SDP layer's error: one enum for parsing and for both negotiations, each variant documented with the
//! operation that returns it. Messages are short and lower-case; they may be shown to the HTTP client, so
//! they quote the offending text only after it was cut to a bounded length.

use thiserror::Error;

/// Why a session description could not be parsed or negotiated.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SdpError {
    /// Parsing: a line we read is malformed (`line` counts from 1).
    #[error("line {line}: {problem}")]
    Malformed {
        /// Line number, from 1.
        line: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// Parsing: a line every description must have is absent (`v=` first, then `o=`).
    #[error("no {0}= line")]
    MissingLine(char),
    /// Publish and accept: two media sections share a mid, or a media section has none.
    #[error("media section {index}: {problem}")]
    BadMid {
        /// Index of the media section, from 0.
        index: usize,
        /// What is wrong.
        problem: &'static str,
    },
    /// Publish and accept: no `a=fingerprint` with a known hash, at session or media level.
    #[error("no a=fingerprint with a supported hash")]
    NoFingerprint,
    /// Publish and accept: an `a=setup` value the peer may not use here.
    #[error("a=setup:{0} is not allowed in an {1}")]
    BadSetup(&'static str, &'static str),
    /// Publish: no media section of the offer could be accepted.
    #[error(
        "nothing in the offer can be accepted (no sendonly/sendrecv section with a supported codec)"
    )]
    NothingAccepted,
    /// Accept: the answer has a mid that was not offered, or mids in another order.
    #[error("answer mid {mid:?} was not offered at this position")]
    UnexpectedMid {
        /// The answer's mid.
        mid: String,
    },
}

/// Cuts untrusted text to a length fit for an error message.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX: usize = 64;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
