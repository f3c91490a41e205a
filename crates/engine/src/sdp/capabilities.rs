//! A media section's codecs and header extensions in the engine's parameter types.
//!
//! Owns: reading `a=rtpmap` / `a=fmtp` / `a=rtcp-fb` / `a=extmap` into [`RtpCodecParameters`] and
//! [`RtpCapabilities`], with the browser's payload types and extension ids. Must not: match codecs against a
//! router (that is the ORTC rules', used by [`super::publish`]).

use crate::rtp_parameters::{
    MediaKind, RtpCapabilities, RtpCodecCapability, RtpCodecParameters, RtpHeaderExtension,
    RtpHeaderExtensionDirection,
};

use super::description::MediaSection;

/// The codec a section describes for payload type `pt`: `<kind>/<encoding name>`, clock rate, channels
/// (audio defaults to 1), `a=fmtp` parameters and `a=rtcp-fb` feedback (including `*`). `None` when the
/// payload type has no `a=rtpmap` and no static assignment.
pub(crate) fn codec_of(
    section: &MediaSection,
    kind: MediaKind,
    pt: u8,
) -> Option<RtpCodecParameters> {
    let map = section.rtpmap(pt)?;
    Some(RtpCodecParameters {
        mime_type: format!("{}/{}", kind.as_str(), map.encoding),
        payload_type: pt,
        clock_rate: map.clock_rate,
        channels: match kind {
            MediaKind::Audio => Some(map.channels.unwrap_or(1)),
            MediaKind::Video => None,
        },
        parameters: section.fmtp(pt),
        rtcp_feedback: section.feedback(pt),
    })
}

/// The codecs of an audio or video section in `m=` line order.
pub(crate) fn codecs_of(section: &MediaSection, kind: MediaKind) -> Vec<RtpCodecParameters> {
    let mut seen = Vec::new();
    section
        .payload_types()
        .filter(|pt| {
            let new = !seen.contains(pt);
            seen.push(*pt);
            new
        })
        .filter_map(|pt| codec_of(section, kind, pt))
        .collect()
}

/// A section's codecs and header extensions as mediasoup RTP capabilities: what a browser can receive when
/// the section is a `recvonly` offer or an answer. Each codec keeps the browser's payload type as
/// `preferredPayloadType`, its parameters and feedback; RTX, RED and FEC codecs are listed as written.
/// Header extensions keep the browser's ids as `preferredId`. An application (or other non-RTP) section gives
/// empty capabilities.
///
/// The result is unvalidated: pass it through [`crate::ortc::validate_rtp_capabilities`] before use.
pub fn rtp_capabilities_of(section: &MediaSection) -> RtpCapabilities {
    let Some(kind) = section.kind.media_kind() else {
        return RtpCapabilities::default();
    };
    let codecs = codecs_of(section, kind)
        .into_iter()
        .map(|c| RtpCodecCapability {
            kind: Some(kind),
            mime_type: c.mime_type,
            preferred_payload_type: Some(c.payload_type),
            clock_rate: c.clock_rate,
            channels: c.channels,
            parameters: c.parameters,
            rtcp_feedback: c.rtcp_feedback,
        })
        .collect();
    let header_extensions = section
        .extmaps
        .iter()
        .map(|e| RtpHeaderExtension {
            kind,
            uri: e.uri.clone(),
            preferred_id: e.id,
            preferred_encrypt: false,
            direction: RtpHeaderExtensionDirection::Sendrecv,
        })
        .collect();
    RtpCapabilities {
        codecs,
        header_extensions,
    }
}
