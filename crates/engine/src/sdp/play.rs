//! Playing: a viewer offers what it receives (a WHEP `recvonly` offer), the server answers with the consumers
//! that fill its sections (RFC 3264, JSEP RFC 8829 §5.3, BUNDLE per RFC 8843).
//!
//! Owns: deciding which offered sections can carry media to the viewer, each one's receive capabilities, and
//! the answer's text once the caller made a consumer per section. Must not: choose producers or create
//! consumers (the router does, between [`read_play_offer`] and [`answer_play`]).
//!
//! Rules:
//! - an audio/video section can be filled when it is not rejected, the viewer receives on it (`recvonly` or
//!   `sendrecv`), it is RTP over DTLS-SRTP with `a=rtcp-mux`, and it is in the offer's BUNDLE group (without a
//!   group only the first usable section is, as there is one transport);
//! - the answer's section for a consumer is `sendonly` with the consumer's parameters, which the caller
//!   numbered with the offer's payload types and extension ids (an answer must not renumber them: RFC 3264
//!   §6.1, and browsers refuse re-assigned extension ids under BUNDLE);
//! - every other section, `application` included, is rejected with port 0 and left out of BUNDLE.

use crate::rtp_parameters::{MediaKind, RtpCapabilities};
use crate::transport_parameters::{DtlsParameters, DtlsRole};

use super::capabilities::rtp_capabilities_of;
use super::description::{Group, SessionDescription, Setup};
use super::error::SdpError;
use super::local::LocalDescription;
use super::publish::{check_mids, rejected};
use super::remote::{Side, remote_dtls};
use super::subscribe::{ConsumerSection, consumer_section};

/// What a viewer's offer asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct PlayOffer {
    /// Every section, in offer order.
    pub sections: Vec<PlaySection>,
    /// The viewer's fingerprints and DTLS role, to connect the transport with.
    pub remote_dtls: DtlsParameters,
}

/// One section of a viewer's offer.
#[derive(Clone, Debug, PartialEq)]
pub struct PlaySection {
    /// Its mid.
    pub mid: String,
    /// The media it receives; `None` when it cannot be filled (see the module rules).
    pub kind: Option<MediaKind>,
    /// What it can receive, in the viewer's payload types and extension ids (unvalidated).
    pub capabilities: RtpCapabilities,
}

/// Reads a viewer's offer. Errors: [`SdpError::BadMid`], [`SdpError::NoFingerprint`], [`SdpError::BadSetup`].
pub fn read_play_offer(offer: &SessionDescription) -> Result<PlayOffer, SdpError> {
    let mids = check_mids(offer)?;
    let bundle = offer.bundle_mids();
    let tag = bundle.first().map(String::as_str).or(mids.first().copied());
    let remote_dtls = remote_dtls(offer, tag, Side::Offer)?;
    let mut sections = Vec::with_capacity(mids.len());
    let mut any_usable = false;
    for (section, mid) in offer.media.iter().zip(mids) {
        let bundled = if bundle.is_empty() {
            !any_usable
        } else {
            bundle.iter().any(|m| m == mid)
        };
        let usable = bundled
            && !section.is_rejected()
            && section.direction_in(offer).reversed().sends()
            && section.rtcp_mux
            && section.protocol.to_ascii_uppercase().contains("RTP/SAVP");
        let kind = section.kind.media_kind().filter(|_| usable);
        any_usable |= kind.is_some();
        sections.push(PlaySection {
            mid: mid.to_owned(),
            kind,
            capabilities: kind
                .map(|_| rtp_capabilities_of(section))
                .unwrap_or_default(),
        });
    }
    Ok(PlayOffer {
        sections,
        remote_dtls,
    })
}

/// The answer to a viewer's offer: `filled[i]` is the consumer for the offer's `i`-th section, `None` to
/// reject it. Errors: [`SdpError::NothingAccepted`] when no section is filled.
pub fn answer_play(
    offer: &SessionDescription,
    read: &PlayOffer,
    filled: &[Option<ConsumerSection>],
    local: &LocalDescription,
) -> Result<String, SdpError> {
    // We answer passive (DTLS server) to actpass; an offerer that insists on passive gets active.
    let setup = match read.remote_dtls.role {
        DtlsRole::Server => Setup::Active,
        DtlsRole::Client | DtlsRole::Auto => Setup::Passive,
    };
    let mut answer = local.session(offer.origin.session_version, setup);
    let mut accepted = Vec::new();
    for (i, (section, read)) in offer.media.iter().zip(&read.sections).enumerate() {
        match filled.get(i).and_then(Option::as_ref) {
            Some(consumer) => {
                let mut m = consumer_section(consumer, local, setup);
                m.mid = Some(read.mid.clone());
                accepted.push(read.mid.clone());
                answer.media.push(m);
            }
            None => answer.media.push(rejected(section, &read.mid)),
        }
    }
    if accepted.is_empty() {
        return Err(SdpError::NothingAccepted);
    }
    answer.groups.push(Group {
        semantics: "BUNDLE".to_owned(),
        mids: accepted,
    });
    Ok(answer.to_string())
}
