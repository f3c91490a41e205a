//! SDP for plain RTP receivers (RFC 8866, RFC 3605 `a=rtcp`, RFC 5761 `a=rtcp-mux`, RFC 4568 `a=crypto`):
//! the description FFmpeg, ffplay and GStreamer open to receive one consumer's stream on the address its
//! plain transport was connected to.
//!
//! Owns: rendering. Must not: decide addresses or parameters (the caller passes the consumer's parameters
//! and the transport's remote endpoint).

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::rtp_parameters::{MediaKind, ParameterValue, RtpParameters};
use crate::transport_parameters::{SrtpCryptoSuite, SrtpParameters};

/// Where and how the receiver gets the stream.
#[derive(Clone, Debug)]
pub struct ReceiverEndpoint<'a> {
    /// Address the receiver listens on (the plain transport's remote IP).
    pub ip: IpAddr,
    /// RTP port the receiver listens on.
    pub port: u16,
    /// RTCP port when RTCP is not multiplexed; `None` means `a=rtcp-mux`.
    pub rtcp_port: Option<u16>,
    /// The keying the server encrypts with, when the transport uses SRTP.
    pub srtp: Option<&'a SrtpParameters>,
}

/// An SDP describing one consumer's stream for a receiver at `endpoint`.
pub fn receiver_sdp(
    kind: MediaKind,
    params: &RtpParameters,
    endpoint: &ReceiverEndpoint<'_>,
) -> String {
    let family = if endpoint.ip.is_ipv4() { "IP4" } else { "IP6" };
    let profile = if endpoint.srtp.is_some() {
        "RTP/SAVP"
    } else {
        "RTP/AVP"
    };
    let payload_types = params
        .codecs
        .iter()
        .map(|c| c.payload_type.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let mut sdp = String::new();
    // `writeln!` into a String cannot fail.
    let _ = writeln!(sdp, "v=0\r");
    let _ = writeln!(sdp, "o=- 0 0 IN {family} {}\r", endpoint.ip);
    let _ = writeln!(sdp, "s=mediagate\r");
    let _ = writeln!(sdp, "c=IN {family} {}\r", endpoint.ip);
    let _ = writeln!(sdp, "t=0 0\r");
    let _ = writeln!(
        sdp,
        "m={} {} {profile} {payload_types}\r",
        kind.as_str(),
        endpoint.port
    );
    match endpoint.rtcp_port {
        Some(port) => {
            let _ = writeln!(sdp, "a=rtcp:{port}\r");
        }
        None => {
            let _ = writeln!(sdp, "a=rtcp-mux\r");
        }
    }
    if let Some(mid) = &params.mid {
        let _ = writeln!(sdp, "a=mid:{mid}\r");
    }
    for codec in &params.codecs {
        let encoding = codec.mime_type.split_once('/').map_or("", |(_, e)| e);
        let _ = write!(
            sdp,
            "a=rtpmap:{} {encoding}/{}",
            codec.payload_type, codec.clock_rate
        );
        if let Some(channels) = codec.channels.filter(|&c| c > 1) {
            let _ = write!(sdp, "/{channels}");
        }
        let _ = writeln!(sdp, "\r");
        if !codec.parameters.is_empty() {
            let fmtp = codec
                .parameters
                .iter()
                .map(|(k, v)| match v {
                    ParameterValue::Integer(i) => format!("{k}={i}"),
                    ParameterValue::Float(f) => format!("{k}={f}"),
                    ParameterValue::String(s) => format!("{k}={s}"),
                })
                .collect::<Vec<_>>()
                .join(";");
            let _ = writeln!(sdp, "a=fmtp:{} {fmtp}\r", codec.payload_type);
        }
        for fb in &codec.rtcp_feedback {
            let _ = if fb.parameter.is_empty() {
                writeln!(sdp, "a=rtcp-fb:{} {}\r", codec.payload_type, fb.r#type)
            } else {
                writeln!(
                    sdp,
                    "a=rtcp-fb:{} {} {}\r",
                    codec.payload_type, fb.r#type, fb.parameter
                )
            };
        }
    }
    for ext in &params.header_extensions {
        let _ = writeln!(sdp, "a=extmap:{} {}\r", ext.id, ext.uri);
    }
    if let Some(srtp) = endpoint.srtp {
        let _ = writeln!(
            sdp,
            "a=crypto:1 {} inline:{}\r",
            crypto_suite_name(srtp.crypto_suite),
            srtp.key_base64
        );
    }
    let cname = params.rtcp.cname.as_deref().unwrap_or("mediagate");
    for encoding in &params.encodings {
        if let Some(ssrc) = encoding.ssrc {
            let _ = writeln!(sdp, "a=ssrc:{ssrc} cname:{cname}\r");
        }
    }
    let _ = writeln!(sdp, "a=recvonly\r");
    sdp
}

/// RFC 4568 / RFC 7714 suite name.
fn crypto_suite_name(suite: SrtpCryptoSuite) -> &'static str {
    match suite {
        SrtpCryptoSuite::AEAD_AES_128_GCM => "AEAD_AES_128_GCM",
        SrtpCryptoSuite::AEAD_AES_256_GCM => "AEAD_AES_256_GCM",
        SrtpCryptoSuite::AES_CM_128_HMAC_SHA1_80 => "AES_CM_128_HMAC_SHA1_80",
        SrtpCryptoSuite::AES_CM_128_HMAC_SHA1_32 => "AES_CM_128_HMAC_SHA1_32",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp_parameters::{
        RtcpFeedback, RtcpParameters, RtpCodecParameters, RtpEncodingParameters,
    };

    #[test]
    fn a_vp8_receiver_with_separate_rtcp() {
        let params = RtpParameters {
            mid: Some("0".to_owned()),
            codecs: vec![RtpCodecParameters {
                mime_type: "video/VP8".to_owned(),
                payload_type: 101,
                clock_rate: 90000,
                channels: None,
                parameters: [(
                    "x-google-start-bitrate".to_owned(),
                    ParameterValue::Integer(1000),
                )]
                .into(),
                rtcp_feedback: vec![RtcpFeedback::new("nack", "pli")],
            }],
            encodings: vec![RtpEncodingParameters {
                ssrc: Some(1234),
                ..Default::default()
            }],
            rtcp: RtcpParameters {
                cname: Some("abc".to_owned()),
                reduced_size: Some(true),
            },
            ..Default::default()
        };
        let sdp = receiver_sdp(
            MediaKind::Video,
            &params,
            &ReceiverEndpoint {
                ip: "127.0.0.1".parse().unwrap(),
                port: 5004,
                rtcp_port: Some(5005),
                srtp: None,
            },
        );
        assert_eq!(
            sdp,
            "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=mediagate\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=video 5004 RTP/AVP 101\r\na=rtcp:5005\r\na=mid:0\r\na=rtpmap:101 VP8/90000\r\n\
             a=fmtp:101 x-google-start-bitrate=1000\r\na=rtcp-fb:101 nack pli\r\n\
             a=ssrc:1234 cname:abc\r\na=recvonly\r\n"
        );
    }

    #[test]
    fn opus_over_srtp_with_rtcp_mux() {
        let params = RtpParameters {
            codecs: vec![RtpCodecParameters {
                mime_type: "audio/opus".to_owned(),
                payload_type: 100,
                clock_rate: 48000,
                channels: Some(2),
                parameters: Default::default(),
                rtcp_feedback: vec![],
            }],
            ..Default::default()
        };
        let srtp = SrtpParameters {
            crypto_suite: SrtpCryptoSuite::AES_CM_128_HMAC_SHA1_80,
            key_base64: "a2V5".to_owned(),
        };
        let sdp = receiver_sdp(
            MediaKind::Audio,
            &params,
            &ReceiverEndpoint {
                ip: "::1".parse().unwrap(),
                port: 6000,
                rtcp_port: None,
                srtp: Some(&srtp),
            },
        );
        assert!(sdp.contains("c=IN IP6 ::1\r\n"));
        assert!(sdp.contains("m=audio 6000 RTP/SAVP 100\r\na=rtcp-mux\r\n"));
        assert!(sdp.contains("a=rtpmap:100 opus/48000/2\r\n"));
        assert!(sdp.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:a2V5\r\n"));
    }
}
