//! Codec matching (mediasoup's `matchCodecs`): loose for router capability generation, strict for producers
//! and consumers.
//!
//! Loose: mime type (case-insensitive), clock rate, channels and, for multiopus, the stream counts. Strict
//! adds the codec-specific rules: H.264 packetization-mode and profile (RFC 6184 §8.1, levels ignored, an
//! answer must be derivable) and VP9 profile-id.

use crate::rtp_parameters::{
    CodecParameters, MediaKind, ParameterValue, RtpCodecCapability, RtpCodecParameters, mime_kind,
};

use super::h264;

/// The fields matching looks at, shared by capability and parameter codecs.
#[derive(Clone, Copy)]
pub(crate) struct CodecView<'a> {
    pub mime_type: &'a str,
    pub clock_rate: u32,
    pub channels: Option<u8>,
    pub parameters: &'a CodecParameters,
}

impl<'a> From<&'a RtpCodecCapability> for CodecView<'a> {
    fn from(codec: &'a RtpCodecCapability) -> Self {
        Self {
            mime_type: &codec.mime_type,
            clock_rate: codec.clock_rate,
            channels: codec.channels,
            parameters: &codec.parameters,
        }
    }
}

impl<'a> From<&'a RtpCodecParameters> for CodecView<'a> {
    fn from(codec: &'a RtpCodecParameters) -> Self {
        Self {
            mime_type: &codec.mime_type,
            clock_rate: codec.clock_rate,
            channels: codec.channels,
            parameters: &codec.parameters,
        }
    }
}

/// Whether a mime type is RTX (`*/rtx`, any case).
pub(crate) fn is_rtx(mime_type: &str) -> bool {
    mime_type
        .split_once('/')
        .is_some_and(|(kind, sub)| !kind.is_empty() && sub.eq_ignore_ascii_case("rtx"))
}

/// Channels as validation would leave them: audio defaults to 1, video has none.
fn effective_channels(codec: &CodecView<'_>) -> Option<u8> {
    match mime_kind(codec.mime_type) {
        Some(MediaKind::Audio) => Some(codec.channels.unwrap_or(1)),
        _ => None,
    }
}

/// Whether two parameter values are equal, comparing integers by value (`1` equals `"1"`).
fn same_value(a: Option<&ParameterValue>, b: Option<&ParameterValue>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(a), Some(b)) => a == b,
            _ => a == b,
        },
        _ => false,
    }
}

/// Whether parameter `key` is equal on both sides, a missing one counting as `default`.
fn same_with_default(a: &CodecParameters, b: &CodecParameters, key: &str, default: i64) -> bool {
    let default = ParameterValue::Integer(default);
    same_value(
        Some(a.get(key).unwrap_or(&default)),
        Some(b.get(key).unwrap_or(&default)),
    )
}

/// What a successful match decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Matched {
    /// Nothing codec-specific to negotiate.
    Plain,
    /// H.264: the profile-level-id `a` should carry (`None`: remove it).
    H264ProfileLevelId(Option<String>),
}

/// Matches codec `a` against `b`; strict mode applies the codec-specific rules with `a` as the local side
/// of the H.264 answer.
pub(crate) fn match_codecs(a: CodecView<'_>, b: CodecView<'_>, strict: bool) -> Option<Matched> {
    let mime = a.mime_type.to_ascii_lowercase();
    if mime != b.mime_type.to_ascii_lowercase()
        || a.clock_rate != b.clock_rate
        || effective_channels(&a) != effective_channels(&b)
    {
        return None;
    }
    match mime.as_str() {
        "audio/multiopus" => {
            let same = |key: &str| same_value(a.parameters.get(key), b.parameters.get(key));
            if !same("num_streams") || !same("coupled_streams") {
                return None;
            }
        }
        "video/h264" | "video/h264-svc" if strict => {
            if !same_with_default(a.parameters, b.parameters, "packetization-mode", 0)
                || !h264::is_same_profile(a.parameters, b.parameters)
            {
                return None;
            }
            let answer =
                h264::generate_profile_level_id_for_answer(a.parameters, b.parameters).ok()?;
            return Some(Matched::H264ProfileLevelId(answer));
        }
        "video/vp9"
            if strict && !same_with_default(a.parameters, b.parameters, "profile-id", 0) =>
        {
            return None;
        }
        _ => {}
    }
    Some(Matched::Plain)
}

/// Strict match as a yes/no.
pub(crate) fn matches_strictly<'a, 'b>(
    a: impl Into<CodecView<'a>>,
    b: impl Into<CodecView<'b>>,
) -> bool {
    match_codecs(a.into(), b.into(), true).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec(
        mime: &str,
        clock_rate: u32,
        channels: Option<u8>,
        params: &[(&str, ParameterValue)],
    ) -> RtpCodecParameters {
        RtpCodecParameters {
            mime_type: mime.to_owned(),
            payload_type: 100,
            clock_rate,
            channels,
            parameters: params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            rtcp_feedback: vec![],
        }
    }

    fn strict(a: &RtpCodecParameters, b: &RtpCodecParameters) -> bool {
        matches_strictly(a, b)
    }

    #[test]
    fn rtx_mime_types() {
        assert!(is_rtx("video/rtx"));
        assert!(is_rtx("VIDEO/RTX"));
        assert!(is_rtx("audio/rtx"));
        assert!(!is_rtx("video/rtxx"));
        assert!(!is_rtx("/rtx"));
        assert!(!is_rtx("rtx"));
    }

    #[test]
    fn mime_clock_rate_and_channels_must_agree() {
        let opus = codec("audio/opus", 48000, Some(2), &[]);
        assert!(strict(&opus, &codec("AUDIO/OPUS", 48000, Some(2), &[])));
        assert!(!strict(&opus, &codec("audio/opus", 48000, Some(1), &[])));
        assert!(!strict(&opus, &codec("audio/opus", 16000, Some(2), &[])));
        assert!(!strict(&opus, &codec("audio/isac", 48000, Some(2), &[])));
        // Audio channels default to 1; video channels are ignored.
        assert!(strict(
            &codec("audio/PCMU", 8000, None, &[]),
            &codec("audio/pcmu", 8000, Some(1), &[])
        ));
        assert!(strict(
            &codec("video/VP8", 90000, Some(3), &[]),
            &codec("video/vp8", 90000, None, &[])
        ));
    }

    #[test]
    fn multiopus_needs_equal_stream_counts_even_loosely() {
        let a = codec(
            "audio/multiopus",
            48000,
            Some(6),
            &[("num_streams", 4.into()), ("coupled_streams", 2.into())],
        );
        let b = codec(
            "audio/multiopus",
            48000,
            Some(6),
            &[("num_streams", "4".into()), ("coupled_streams", 2.into())],
        );
        let c = codec(
            "audio/multiopus",
            48000,
            Some(6),
            &[("num_streams", 3.into()), ("coupled_streams", 2.into())],
        );
        assert!(strict(&a, &b));
        assert!(!strict(&a, &c));
        assert!(match_codecs((&a).into(), (&c).into(), false).is_none());
    }

    #[test]
    fn h264_packetization_mode_defaults_to_zero() {
        let pm1 = codec(
            "video/H264",
            90000,
            None,
            &[("packetization-mode", 1.into())],
        );
        let pm0 = codec(
            "video/H264",
            90000,
            None,
            &[("packetization-mode", 0.into())],
        );
        let none = codec("video/H264", 90000, None, &[]);
        assert!(!strict(&pm1, &none));
        assert!(strict(&pm0, &none));
        assert!(strict(
            &pm1,
            &codec(
                "video/h264",
                90000,
                None,
                &[("packetization-mode", "1".into())]
            )
        ));
        // Loose matching ignores it.
        assert!(match_codecs((&pm1).into(), (&none).into(), false).is_some());
    }

    #[test]
    fn h264_profiles_must_agree_and_yield_an_answer() {
        let p = |id: &str| {
            codec(
                "video/H264",
                90000,
                None,
                &[
                    ("packetization-mode", 1.into()),
                    ("profile-level-id", id.into()),
                ],
            )
        };
        assert_eq!(
            match_codecs((&p("42e01f")).into(), (&p("42e034")).into(), true),
            Some(Matched::H264ProfileLevelId(Some("42e01f".to_owned())))
        );
        // Constrained baseline spelled three ways.
        assert!(strict(&p("42c01f"), &p("42401f")));
        assert!(strict(&p("42e01f"), &p("42c02a")));
        assert!(!strict(&p("42001f"), &p("42e01f")));
        assert!(!strict(&p("4d0032"), &p("42e01f")));
        assert!(!strict(&p("640032"), &p("4d0032")));
        assert!(!strict(&p("CHICKEN"), &p("42e01f")));
        // H264-SVC follows the same rules.
        let svc = |id: &str| {
            codec(
                "video/H264-SVC",
                90000,
                None,
                &[("profile-level-id", id.into())],
            )
        };
        assert!(strict(&svc("4d001f"), &svc("4d0032")));
        assert!(!strict(&svc("4d001f"), &svc("64001f")));
    }

    #[test]
    fn vp9_profile_id_defaults_to_zero() {
        let p = |id: Option<i64>| match id {
            Some(id) => codec("video/VP9", 90000, None, &[("profile-id", id.into())]),
            None => codec("video/VP9", 90000, None, &[]),
        };
        assert!(strict(&p(Some(0)), &p(None)));
        assert!(strict(&p(Some(2)), &p(Some(2))));
        assert!(!strict(&p(Some(2)), &p(None)));
        assert!(match_codecs((&p(Some(2))).into(), (&p(None)).into(), false).is_some());
    }

    #[test]
    fn h265_has_no_profile_rule() {
        let a = codec("video/H265", 90000, None, &[("profile-id", 1.into())]);
        let b = codec("video/H265", 90000, None, &[("profile-id", 2.into())]);
        assert!(strict(&a, &b));
    }
}
