//! Session descriptions: the offer/answer layer that lets a plain browser page (fetch + EventSource, no SDK)
//! publish and view, and the receiver SDP of plain RTP tools.
//!
//! Owns, on strings and the engine's parameter types only:
//! - [`parse`]: a tolerant RFC 8866 parser into the typed [`SessionDescription`] (`FromStr` too), and its
//!   text form (`Display`, in `render`);
//! - publishing ([`answer_publish`]): the browser offers what it sends, the server answers as an ICE-lite
//!   DTLS server (`a=setup:passive`) and gets mediasoup `produce()` parameters per taken section;
//! - subscribing ([`offer_consumers`], [`accept_answer`]): the server offers its consumers
//!   (`a=setup:actpass`), the browser answers;
//! - playing ([`read_play_offer`], [`answer_play`]): a viewer (WHEP) offers what it receives, the server
//!   answers with one consumer per section it can fill, in the viewer's own payload types and extension ids;
//! - [`rtp_capabilities_of`]: a browser's receive capabilities from a section of its description;
//! - [`receiver_sdp`]: the description FFmpeg/GStreamer open to receive a plain consumer.
//!
//! Must not: do I/O, hold state between negotiations, or create router objects; callers turn the results
//! into transports, producers and consumers through the control layer.
//!
//! Targets Chrome/Chromium (unified plan, BUNDLE, rtcp-mux, rid simulcast) and Firefox ESR. RFCs: 8866 (SDP),
//! 3264 (offer/answer), 8829 (JSEP), 8843 (BUNDLE), 8839 (ICE attributes), 8122 and 5763 (fingerprints,
//! setup), 4585 (rtcp-fb), 8285 (extmap), 5576 (ssrc attributes), 4588 (RTX), 8851 / 8853 (rid, simulcast),
//! 8830 (msid), 5761 (rtcp-mux), 5506 (rtcp-rsize), 8841 (SCTP data channels).
//!
//! Decisions:
//! - Sections the server cannot take in a publish offer are **rejected (port 0) and left out of BUNDLE**,
//!   not answered `inactive`. An `inactive` answer must still name a codec, which an unsupported section
//!   does not have; port 0 is what RFC 3264 §6 and JSEP §5.3.1 prescribe, and both browsers then stop the
//!   transceiver (`currentDirection` becomes `stopped`/null) so the page sees clearly what was refused.
//!   Both browsers accept an answer whose BUNDLE group omits rejected mids, also when the first offered mid
//!   (the offerer's tag) is one of them: they take the answer's first bundled mid as the tag, and every
//!   accepted section carries the full transport anyway.
//! - The publish answer lists **one codec and its RTX** per section (the browser's first codec the router
//!   matches), so the browser sends exactly what the producer was created with.
//! - Transport attributes (ICE credentials, fingerprints, setup) are written at session level and repeated
//!   in each accepted section; every accepted section lists all host candidates and `a=end-of-candidates`.
//! - The publish answer's `o=` version is the offer's version (it increases whenever the browser re-offers).

mod capabilities;
mod description;
mod error;
mod local;
mod parse;
mod play;
mod publish;
mod receiver;
mod remote;
mod render;
mod subscribe;

#[cfg(test)]
mod tests;

pub use capabilities::rtp_capabilities_of;
pub use description::{
    Attribute, Connection, Direction, Extmap, FeedbackPayload, Fmtp, Group, MediaSection, Msid,
    MsidSemantic, Origin, Rid, RidDirection, RtcpFb, RtpMap, SectionKind, SessionDescription,
    Setup, Simulcast, SimulcastRid, SimulcastStream, SsrcAttribute, SsrcGroup,
    format_codec_parameters, parse_codec_parameters,
};
pub use error::SdpError;
pub use local::{LocalDescription, candidate_value};
pub use parse::parse;
pub use play::{PlayOffer, PlaySection, answer_play, read_play_offer};
pub use publish::{PublishAnswer, PublishedTrack, answer_publish};
pub use receiver::{ReceiverEndpoint, receiver_sdp};
pub use subscribe::{
    AcceptedAnswer, ConsumerSection, DATA_CHANNEL_MID, accept_answer, offer_consumers, offered_mids,
};
