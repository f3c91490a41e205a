//! Subscribing: the server offers a browser its consumers, the browser answers (RFC 3264, JSEP RFC 8829
//! §5.2 for the offer, BUNDLE per RFC 8843, RFC 5576 `a=ssrc` / `a=ssrc-group:FID` for the SSRCs the browser
//! will receive, RFC 8830 `a=msid`).
//!
//! Owns: the offer's text and reading the answer. Must not: keep state between renegotiations. The caller
//! keeps the mids and the order: JSEP never reorders or removes m-sections, so a closed consumer stays in
//! its place as a rejected section (port 0) and new consumers are appended. The `o=` session id comes from
//! [`LocalDescription::session_id`] and the caller passes an increasing `session_version`.
//!
//! When the transport carries data channels (`local.sctp`), the `application` section comes first with mid
//! [`DATA_CHANNEL_MID`], so appending consumers never moves it.

use crate::rtp_parameters::{MediaKind, RtpParameters};
use crate::transport_parameters::DtlsParameters;

use super::description::{
    Direction, Extmap, FeedbackPayload, Fmtp, Group, MediaSection, Msid, RtcpFb, RtpMap,
    SectionKind, SessionDescription, Setup, SsrcAttribute, SsrcGroup, format_codec_parameters,
};
use super::error::SdpError;
use super::local::{LocalDescription, rejected_connection};
use super::publish::check_mids;
use super::remote::{Side, remote_dtls};

/// The mid of the data channel section in the server's offers.
pub const DATA_CHANNEL_MID: &str = "datachannel";

/// One consumer as an m-section of the server's offer.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsumerSection {
    /// The section's mid: stable across renegotiations, unique in the transport.
    pub mid: String,
    /// Audio or video.
    pub kind: MediaKind,
    /// The consumer's parameters: codecs with their payload types, header extensions, one encoding with its
    /// SSRC (and RTX SSRC), RTCP cname.
    pub rtp_parameters: RtpParameters,
    /// MediaStream id: the browser groups a remote peer's audio and video by it.
    pub stream_id: String,
    /// Track id.
    pub track_id: String,
    /// `false` keeps the section in place but rejected (port 0, out of BUNDLE), e.g. a closed consumer.
    pub active: bool,
}

/// What the browser's answer settled.
#[derive(Clone, Debug, PartialEq)]
pub struct AcceptedAnswer {
    /// The browser's fingerprints and DTLS role, to connect the transport with.
    pub remote_dtls: DtlsParameters,
    /// Offered mids the browser rejected (port 0) or left out, in offer order.
    pub rejected_mids: Vec<String>,
}

/// The server's offer of `consumers` (and a data channel section when `local.sctp` is set): `a=setup:actpass`,
/// ICE-lite, BUNDLE over the active sections; each active section `sendonly` with `a=msid`, the consumer's
/// codecs, header extensions and `a=ssrc` lines (cname and msid, the RTX SSRC too, grouped by
/// `a=ssrc-group:FID`).
pub fn offer_consumers(
    consumers: &[ConsumerSection],
    local: &LocalDescription,
    session_version: u64,
) -> String {
    let mut offer = local.session(session_version, Setup::Actpass);
    let mut bundle = Vec::new();
    if let Some(sctp) = local.sctp {
        let mut m = MediaSection::new(SectionKind::Application, "UDP/DTLS/SCTP");
        m.formats.push("webrtc-datachannel".to_owned());
        local.fill_transport(&mut m, Setup::Actpass, false);
        m.mid = Some(DATA_CHANNEL_MID.to_owned());
        m.sctp_port = Some(sctp.port);
        m.max_message_size = Some(sctp.max_message_size);
        offer.media.push(m);
        bundle.push(DATA_CHANNEL_MID.to_owned());
    }
    for consumer in consumers {
        offer
            .media
            .push(consumer_section(consumer, local, Setup::Actpass));
        if consumer.active {
            bundle.push(consumer.mid.clone());
        }
    }
    if !bundle.is_empty() {
        offer.groups.push(Group {
            semantics: "BUNDLE".to_owned(),
            mids: bundle,
        });
    }
    offer.to_string()
}

/// One consumer's section, `sendonly`, with the transport written for `setup` (a rejected one when the
/// consumer is not active).
pub(crate) fn consumer_section(
    consumer: &ConsumerSection,
    local: &LocalDescription,
    setup: Setup,
) -> MediaSection {
    let params = &consumer.rtp_parameters;
    let mut m = MediaSection::new(SectionKind::from(consumer.kind), "UDP/TLS/RTP/SAVPF");
    for codec in &params.codecs {
        let pt = codec.payload_type;
        m.formats.push(pt.to_string());
        let encoding = codec.mime_type.split_once('/').map_or("", |(_, e)| e);
        m.rtpmaps.push(RtpMap {
            payload_type: pt,
            encoding: encoding.to_owned(),
            clock_rate: codec.clock_rate,
            channels: codec.channels.filter(|&c| c > 1),
        });
        if !codec.parameters.is_empty() {
            m.fmtps.push(Fmtp {
                payload_type: pt,
                parameters: format_codec_parameters(&codec.parameters),
            });
        }
        for fb in &codec.rtcp_feedback {
            m.rtcp_fbs.push(RtcpFb {
                payload: FeedbackPayload::Pt(pt),
                r#type: fb.r#type.clone(),
                parameter: fb.parameter.clone(),
            });
        }
    }
    if m.formats.is_empty() {
        m.formats.push("0".to_owned());
    }
    m.mid = Some(consumer.mid.clone());
    if !consumer.active {
        m.port = 0;
        m.connection = Some(rejected_connection());
        m.direction = Some(Direction::Inactive);
        return m;
    }
    local.fill_transport(&mut m, setup, true);
    m.rtcp_rsize = params.rtcp.reduced_size != Some(false);
    m.direction = Some(Direction::Sendonly);
    m.extmaps = params
        .header_extensions
        .iter()
        .map(|e| Extmap {
            id: e.id,
            direction: None,
            uri: e.uri.clone(),
            attributes: None,
        })
        .collect();
    m.msids.push(Msid {
        stream_id: consumer.stream_id.clone(),
        track_id: Some(consumer.track_id.clone()),
    });
    let cname = params.rtcp.cname.as_deref().unwrap_or("mediagate");
    let msid = format!("{} {}", consumer.stream_id, consumer.track_id);
    for encoding in &params.encodings {
        let Some(ssrc) = encoding.ssrc else { continue };
        let mut ssrcs = vec![ssrc];
        if let Some(rtx) = encoding.rtx {
            ssrcs.push(rtx.ssrc);
            m.ssrc_groups.push(SsrcGroup {
                semantics: "FID".to_owned(),
                ssrcs: ssrcs.clone(),
            });
        }
        for ssrc in ssrcs {
            for (name, value) in [("cname", cname), ("msid", msid.as_str())] {
                m.ssrcs.push(SsrcAttribute {
                    ssrc,
                    name: name.to_owned(),
                    value: Some(value.to_owned()),
                });
            }
        }
    }
    m
}

/// Reads the browser's answer to an offer with `offered_mids` (in offer order, [`DATA_CHANNEL_MID`]
/// included when it was offered). Errors: [`SdpError::BadMid`], [`SdpError::UnexpectedMid`] (a mid not
/// offered, or out of order), [`SdpError::NoFingerprint`], [`SdpError::BadSetup`] (`actpass` or `holdconn`).
pub fn accept_answer(
    answer: &SessionDescription,
    offered_mids: &[String],
) -> Result<AcceptedAnswer, SdpError> {
    let mids = check_mids(answer)?;
    let mut next = 0;
    for mid in &mids {
        let found = offered_mids[next..]
            .iter()
            .position(|m| m == mid)
            .ok_or_else(|| SdpError::UnexpectedMid {
                mid: (*mid).to_owned(),
            })?;
        next += found + 1;
    }
    let tag = answer
        .bundle_mids()
        .first()
        .map(String::as_str)
        .or_else(|| {
            answer
                .media
                .iter()
                .find(|m| !m.is_rejected())
                .and_then(|m| m.mid.as_deref())
        });
    let remote_dtls = remote_dtls(answer, tag, Side::Answer)?;
    let rejected_mids = offered_mids
        .iter()
        .filter(|mid| answer.media_by_mid(mid).is_none_or(|m| m.is_rejected()))
        .cloned()
        .collect();
    Ok(AcceptedAnswer {
        remote_dtls,
        rejected_mids,
    })
}

/// The mids `offer_consumers` writes, in order: for [`accept_answer`].
pub fn offered_mids(consumers: &[ConsumerSection], local: &LocalDescription) -> Vec<String> {
    local
        .sctp
        .map(|_| DATA_CHANNEL_MID.to_owned())
        .into_iter()
        .chain(consumers.iter().map(|c| c.mid.clone()))
        .collect()
}
