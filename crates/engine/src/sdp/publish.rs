//! Publishing: a browser offers what it sends, the server answers (RFC 3264 offer/answer with the JSEP
//! rules of RFC 8829 §5.3, BUNDLE per RFC 8843, simulcast per RFC 8853 / RFC 8851).
//!
//! Owns: deciding which offered sections the server takes and with which codec, writing the answer, and
//! turning each taken section into mediasoup `produce()` parameters. Must not: create producers, or check
//! the parameters beyond what the answer needs (the ORTC validators run when the caller produces).
//!
//! Rules:
//! - an audio/video section is taken when it is not rejected, the browser sends on it (`sendonly` or
//!   `sendrecv`), it is RTP over DTLS-SRTP (`…/SAVP[F]`) with `a=rtcp-mux`, it is in the offer's BUNDLE
//!   group (without a group only the first taken section is, as there is one transport), and one of its
//!   codecs matches the router strictly (mediasoup's rules: mime type, clock rate, channels; H.264
//!   packetization-mode and profile; VP9 profile-id). The first such codec in the browser's order wins; the
//!   answer lists exactly it and its RTX (when the router has RTX for it), with the browser's payload types;
//! - everything else is rejected with port 0 and left out of BUNDLE (see the module docs of [`super`] for why
//!   not `inactive`);
//! - an `application` section is taken when `local.sctp` is set;
//! - the answer's direction is `recvonly` for every taken media section: the publish transport only receives.

use crate::ortc::{Matched, is_rtx, match_codecs};
use crate::rtp_parameters::{
    MediaKind, ParameterValue, RtcpFeedback, RtcpParameters, RtpCapabilities, RtpCodecCapability,
    RtpCodecParameters, RtpEncodingParameters, RtpEncodingRtx, RtpHeaderExtensionDirection,
    RtpHeaderExtensionParameters, RtpParameters,
};
use crate::transport_parameters::{DtlsParameters, DtlsRole};

use super::capabilities::codecs_of;
use super::description::{
    Direction, Extmap, FeedbackPayload, Fmtp, Group, MediaSection, Rid, RidDirection, RtcpFb,
    SectionKind, SessionDescription, Setup, Simulcast, SimulcastRid, format_codec_parameters,
};
use super::error::SdpError;
use super::local::{LocalDescription, rejected_connection};
use super::remote::{Side, remote_dtls};

/// The server's answer to a publish offer.
#[derive(Clone, Debug, PartialEq)]
pub struct PublishAnswer {
    /// The answer, to return to the browser.
    pub sdp: String,
    /// One per taken audio/video section, in offer order: what to produce.
    pub tracks: Vec<PublishedTrack>,
    /// The browser's fingerprints and DTLS role, to connect the transport with.
    pub remote_dtls: DtlsParameters,
}

/// A section the server took: the parameters of the producer that receives it.
#[derive(Clone, Debug, PartialEq)]
pub struct PublishedTrack {
    /// The section's mid.
    pub mid: String,
    /// Audio or video.
    pub kind: MediaKind,
    /// mediasoup `produce()` parameters: mid, the chosen codec (and its RTX) with the browser's payload types
    /// and parameters, the taken header extensions with the browser's ids, the encodings (SSRCs, or rids for
    /// rid-based simulcast) and RTCP (cname, reduced size).
    pub rtp_parameters: RtpParameters,
    /// The browser's MediaStream id (`a=msid` first field; `None` for `-`).
    pub stream_id: Option<String>,
    /// The browser's track id (`a=msid` second field).
    pub track_id: Option<String>,
}

/// Answers a browser's publish offer. Errors: [`SdpError::BadMid`] (a section without a mid, or two with the
/// same), [`SdpError::NoFingerprint`], [`SdpError::BadSetup`] (`holdconn`), [`SdpError::NothingAccepted`].
pub fn answer_publish(
    offer: &SessionDescription,
    router_capabilities: &RtpCapabilities,
    local: &LocalDescription,
) -> Result<PublishAnswer, SdpError> {
    let mids = check_mids(offer)?;
    let bundle = offer.bundle_mids();
    let tag = bundle.first().map(String::as_str).or(mids.first().copied());
    let remote_dtls = remote_dtls(offer, tag, Side::Offer)?;
    // We answer passive (DTLS server) to the browsers' actpass; an offerer that insists on passive gets active.
    let setup = match remote_dtls.role {
        DtlsRole::Server => Setup::Active,
        DtlsRole::Client | DtlsRole::Auto => Setup::Passive,
    };

    let mut answer = local.session(offer.origin.session_version, setup);
    let mut accepted: Vec<String> = Vec::new();
    let mut tracks = Vec::new();
    for (section, mid) in offer.media.iter().zip(mids) {
        let bundled = if bundle.is_empty() {
            accepted.is_empty()
        } else {
            bundle.iter().any(|m| m == mid)
        };
        let taken = if !bundled || section.is_rejected() {
            None
        } else {
            match &section.kind {
                SectionKind::Audio | SectionKind::Video => {
                    answer_media(offer, section, mid, router_capabilities).map(|(m, track)| {
                        tracks.push(track);
                        m
                    })
                }
                SectionKind::Application => answer_application(section, local),
                SectionKind::Other(_) => None,
            }
        };
        match taken {
            Some(mut m) => {
                local.fill_transport(&mut m, setup, section.kind.media_kind().is_some());
                m.mid = Some(mid.to_owned());
                accepted.push(mid.to_owned());
                answer.media.push(m);
            }
            None => answer.media.push(rejected(section, mid)),
        }
    }
    if accepted.is_empty() {
        return Err(SdpError::NothingAccepted);
    }
    answer.groups.push(Group {
        semantics: "BUNDLE".to_owned(),
        mids: accepted,
    });
    Ok(PublishAnswer {
        sdp: answer.to_string(),
        tracks,
        remote_dtls,
    })
}

/// Every section's mid, checked present and unique (JSEP requires both; BUNDLE cannot work without).
pub(crate) fn check_mids(desc: &SessionDescription) -> Result<Vec<&str>, SdpError> {
    let mut mids: Vec<&str> = Vec::with_capacity(desc.media.len());
    for (index, m) in desc.media.iter().enumerate() {
        let mid = m
            .mid
            .as_deref()
            .filter(|mid| !mid.is_empty())
            .ok_or(SdpError::BadMid {
                index,
                problem: "no a=mid",
            })?;
        if mids.contains(&mid) {
            return Err(SdpError::BadMid {
                index,
                problem: "duplicate a=mid",
            });
        }
        mids.push(mid);
    }
    Ok(mids)
}

/// A rejected section (RFC 3264 §6, RFC 8829 §5.3.1): port 0, the offer's first format, the mid.
pub(crate) fn rejected(offered: &MediaSection, mid: &str) -> MediaSection {
    let mut m = MediaSection::new(offered.kind.clone(), &offered.protocol);
    m.port = 0;
    m.formats = offered
        .formats
        .first()
        .cloned()
        .into_iter()
        .collect::<Vec<_>>();
    if m.formats.is_empty() {
        m.formats.push("0".to_owned());
    }
    m.connection = Some(rejected_connection());
    m.mid = Some(mid.to_owned());
    if offered.kind.media_kind().is_some() {
        m.direction = Some(Direction::Inactive);
    }
    m
}

fn answer_application(offered: &MediaSection, local: &LocalDescription) -> Option<MediaSection> {
    let sctp = local.sctp?;
    // RFC 8841 only (`UDP/DTLS/SCTP webrtc-datachannel` + `a=sctp-port`); the pre-standard
    // `DTLS/SCTP 5000` + `a=sctpmap` form is no longer sent by browsers.
    if !offered.protocol.ends_with("DTLS/SCTP") || offered.protocol == "DTLS/SCTP" {
        return None;
    }
    let mut m = MediaSection::new(SectionKind::Application, &offered.protocol);
    m.formats = offered.formats.clone();
    m.sctp_port = Some(sctp.port);
    m.max_message_size = Some(sctp.max_message_size);
    Some(m)
}

/// The router codec a browser codec matches strictly, with what the match decided.
fn router_codec<'a>(
    codec: &RtpCodecParameters,
    kind: MediaKind,
    caps: &'a RtpCapabilities,
) -> Option<(&'a RtpCodecCapability, u8, Matched)> {
    caps.codecs.iter().find_map(|cap| {
        let pt = cap.preferred_payload_type?;
        if is_rtx(&cap.mime_type) || cap.kind.is_some_and(|k| k != kind) {
            return None;
        }
        match_codecs(codec.into(), cap.into(), true).map(|m| (cap, pt, m))
    })
}

fn apt(codec_parameters: &crate::rtp_parameters::CodecParameters) -> Option<i64> {
    codec_parameters.get("apt").and_then(ParameterValue::as_i64)
}

fn answer_media(
    offer: &SessionDescription,
    section: &MediaSection,
    mid: &str,
    caps: &RtpCapabilities,
) -> Option<(MediaSection, PublishedTrack)> {
    let kind = section.kind.media_kind()?;
    if !section.direction_in(offer).sends()
        || !section.rtcp_mux
        || !section.protocol.to_ascii_uppercase().contains("RTP/SAVP")
    {
        return None;
    }
    let offered = codecs_of(section, kind);
    let (mut codec, router_cap, router_pt, matched) = offered
        .iter()
        .filter(|c| !is_rtx(&c.mime_type))
        .find_map(|c| router_codec(c, kind, caps).map(|(cap, pt, m)| (c.clone(), cap, pt, m)))?;
    codec.rtcp_feedback = negotiated_feedback(&codec.rtcp_feedback, &router_cap.rtcp_feedback);
    let router_has_rtx = caps
        .codecs
        .iter()
        .any(|c| is_rtx(&c.mime_type) && apt(&c.parameters) == Some(i64::from(router_pt)));
    let rtx = router_has_rtx
        .then(|| {
            offered.iter().find(|c| {
                is_rtx(&c.mime_type) && apt(&c.parameters) == Some(i64::from(codec.payload_type))
            })
        })
        .flatten()
        .cloned()
        .map(|mut rtx| {
            rtx.rtcp_feedback.clear();
            rtx
        });

    // The answer's fmtp carries the negotiated H.264 profile-level-id (RFC 6184 §8.2.2); the producer's
    // parameters keep the offer's, as mediasoup-client would send them (the router negotiates on produce).
    let mut answer_parameters = codec.parameters.clone();
    if let Matched::H264ProfileLevelId(id) = matched {
        match id {
            Some(id) => {
                answer_parameters.insert("profile-level-id".to_owned(), ParameterValue::String(id));
            }
            None => {
                answer_parameters.remove("profile-level-id");
            }
        }
    }

    let mut m = MediaSection::new(section.kind.clone(), &section.protocol);
    m.direction = Some(Direction::Recvonly);
    m.rtcp_rsize = section.rtcp_rsize;
    let entries = std::iter::once((&codec, answer_parameters))
        .chain(rtx.iter().map(|r| (r, r.parameters.clone())));
    for (c, parameters) in entries {
        m.formats.push(c.payload_type.to_string());
        if let Some(map) = section.rtpmap(c.payload_type) {
            m.rtpmaps.push(map);
        }
        if !parameters.is_empty() {
            m.fmtps.push(Fmtp {
                payload_type: c.payload_type,
                parameters: format_codec_parameters(&parameters),
            });
        }
        for fb in &c.rtcp_feedback {
            m.rtcp_fbs.push(RtcpFb {
                payload: FeedbackPayload::Pt(c.payload_type),
                r#type: fb.r#type.clone(),
                parameter: fb.parameter.clone(),
            });
        }
    }

    // Header extensions the router receives for this kind, under the browser's ids.
    let mut header_extensions = Vec::new();
    for ext in &section.extmaps {
        let browser_sends = !matches!(
            ext.direction,
            Some(Direction::Recvonly | Direction::Inactive)
        );
        let router_receives = caps.header_extensions.iter().any(|h| {
            h.kind == kind
                && h.uri == ext.uri
                && matches!(
                    h.direction,
                    RtpHeaderExtensionDirection::Sendrecv | RtpHeaderExtensionDirection::Recvonly
                )
        });
        // mediagate does not answer `a=extmap-allow-mixed`, so only one-byte ids (RFC 8285 §4.2) are usable.
        let one_byte = (1..=14).contains(&ext.id);
        if browser_sends && router_receives && one_byte {
            m.extmaps.push(Extmap {
                id: ext.id,
                direction: ext.direction.map(Direction::reversed),
                uri: ext.uri.clone(),
                attributes: None,
            });
            header_extensions.push(RtpHeaderExtensionParameters::new(&ext.uri, ext.id));
        }
    }

    let send_rids = send_rids(section);
    let encodings = if send_rids.is_empty() {
        ssrc_encodings(section, rtx.is_some())
    } else {
        m.rids = send_rids
            .iter()
            .map(|r| Rid {
                id: r.rid.clone(),
                direction: RidDirection::Recv,
                restrictions: None,
            })
            .collect();
        m.simulcast = Some(Simulcast {
            send: Vec::new(),
            recv: send_rids.iter().map(|r| vec![r.clone()]).collect(),
        });
        send_rids
            .iter()
            .map(|r| RtpEncodingParameters {
                rid: Some(r.rid.clone()),
                ..Default::default()
            })
            .collect()
    };
    let primary = encodings.first().and_then(|e| e.ssrc);
    let cname = primary
        .and_then(|ssrc| section.ssrc_attribute(ssrc, "cname"))
        .or_else(|| {
            section
                .ssrcs
                .iter()
                .find(|a| a.name == "cname")
                .and_then(|a| a.value.as_deref())
        })
        .map(str::to_owned);
    let (stream_id, track_id) = msid_of(section, primary);

    let mut codecs = vec![codec];
    codecs.extend(rtx);
    let track = PublishedTrack {
        mid: mid.to_owned(),
        kind,
        rtp_parameters: RtpParameters {
            mid: Some(mid.to_owned()),
            codecs,
            header_extensions,
            encodings,
            rtcp: RtcpParameters {
                cname,
                reduced_size: Some(section.rtcp_rsize),
            },
        },
        stream_id,
        track_id,
    };
    Some((m, track))
}

/// The offer's feedback the router also supports, in the offer's order.
fn negotiated_feedback(offered: &[RtcpFeedback], router: &[RtcpFeedback]) -> Vec<RtcpFeedback> {
    offered
        .iter()
        .filter(|fb| {
            router
                .iter()
                .any(|r| r.r#type == fb.r#type && r.parameter == fb.parameter)
        })
        .cloned()
        .collect()
}

/// The rids the browser sends: the first alternative of each `a=simulcast` send stream that has an
/// `a=rid … send` line (RFC 8853 §5.3: without a matching rid line the stream is dropped); without
/// `a=simulcast`, the `a=rid … send` lines themselves.
fn send_rids(section: &MediaSection) -> Vec<SimulcastRid> {
    let declared = |rid: &str| {
        section
            .rids
            .iter()
            .any(|r| r.id == rid && r.direction == RidDirection::Send)
    };
    match &section.simulcast {
        Some(sim) if !sim.send.is_empty() => sim
            .send
            .iter()
            .filter_map(|alternatives| alternatives.iter().find(|a| declared(&a.rid)))
            .cloned()
            .collect(),
        _ => section
            .rids
            .iter()
            .filter(|r| r.direction == RidDirection::Send)
            .map(|r| SimulcastRid {
                rid: r.id.clone(),
                paused: false,
            })
            .collect(),
    }
}

/// Encodings from `a=ssrc` lines: the `SIM` group's SSRCs when there is one (legacy simulcast), else the
/// first SSRC that is not the second member of a `FID` or `FEC-FR` group; each with its `FID` partner as RTX
/// when RTX was negotiated. No SSRC lines: one empty encoding (the router learns the SSRC from the mid
/// header extension).
fn ssrc_encodings(section: &MediaSection, with_rtx: bool) -> Vec<RtpEncodingParameters> {
    let group = |semantics: &'static str| {
        section
            .ssrc_groups
            .iter()
            .filter(move |g| g.semantics.eq_ignore_ascii_case(semantics))
    };
    let secondaries: Vec<u32> = group("FID")
        .chain(group("FEC-FR"))
        .flat_map(|g| g.ssrcs.iter().skip(1).copied())
        .collect();
    let primaries: Vec<u32> = match group("SIM").next() {
        Some(sim) => sim.ssrcs.clone(),
        None => section
            .ssrcs
            .iter()
            .map(|a| a.ssrc)
            .find(|ssrc| !secondaries.contains(ssrc))
            .into_iter()
            .collect(),
    };
    if primaries.is_empty() {
        return vec![RtpEncodingParameters::default()];
    }
    primaries
        .into_iter()
        .map(|ssrc| RtpEncodingParameters {
            ssrc: Some(ssrc),
            rtx: with_rtx
                .then(|| {
                    group("FID")
                        .find(|g| g.ssrcs.first() == Some(&ssrc))
                        .and_then(|g| g.ssrcs.get(1))
                        .map(|&rtx| RtpEncodingRtx { ssrc: rtx })
                })
                .flatten(),
            ..Default::default()
        })
        .collect()
}

/// Stream and track id: `a=msid`, else the primary SSRC's `msid:` attribute; a stream id of `-` is none.
fn msid_of(section: &MediaSection, primary: Option<u32>) -> (Option<String>, Option<String>) {
    let (stream, track) = match section.msids.first() {
        Some(msid) => (Some(msid.stream_id.clone()), msid.track_id.clone()),
        None => {
            let value = primary
                .and_then(|ssrc| section.ssrc_attribute(ssrc, "msid"))
                .or_else(|| {
                    section
                        .ssrcs
                        .iter()
                        .find(|a| a.name == "msid")
                        .and_then(|a| a.value.as_deref())
                });
            match value.map(|v| v.split_once(' ').unwrap_or((v, ""))) {
                Some((s, t)) => (
                    Some(s.to_owned()),
                    (!t.is_empty()).then(|| t.trim().to_owned()),
                ),
                None => (None, None),
            }
        }
    };
    (stream.filter(|s| s != "-"), track)
}
