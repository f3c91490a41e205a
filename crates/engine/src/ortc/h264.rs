//! H.264 `profile-level-id` (RFC 6184 §8.1): parsing, profile comparison and answer derivation.
//!
//! Mirrors the behaviour of the `h264-profile-level-id` library mediasoup uses: the three bytes are
//! `profile_idc`, `profile_iop` (constraint flags) and `level_idc`; the profile is recognised from
//! `profile_idc` plus a bit pattern over `profile_iop` (RFC 6184 Table 5), the level from `level_idc` (level
//! 1b is `level_idc` 11 with constraint_set3 set).

use crate::rtp_parameters::{CodecParameters, ParameterValue};

/// An H.264 profile as distinguished by RFC 6184 Table 5.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Profile {
    ConstrainedBaseline,
    Baseline,
    Main,
    ConstrainedHigh,
    High,
    PredictiveHigh444,
}

/// `level_idc` values; level 1b has no `level_idc` of its own, so it gets 0.
pub(crate) mod level {
    pub const L1B: u8 = 0;
    pub const L1: u8 = 10;
    pub const L1_1: u8 = 11;
    pub const L3_1: u8 = 31;
    /// Every level a `profile-level-id` may carry (besides 1b).
    pub const ALL: [u8; 16] = [
        10, 11, 12, 13, 20, 21, 22, 30, 31, 32, 40, 41, 42, 50, 51, 52,
    ];
}

/// A parsed `profile-level-id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ProfileLevelId {
    pub profile: Profile,
    pub level: u8,
}

/// constraint_set3_flag within `profile_iop`.
const CONSTRAINT_SET3_FLAG: u8 = 0x10;

/// A pattern over the 8 bits of `profile_iop`: `x` is "don't care", `0`/`1` must match.
struct BitPattern {
    mask: u8,
    value: u8,
}

impl BitPattern {
    const fn new(pattern: &[u8; 8]) -> Self {
        let mut mask = 0u8;
        let mut value = 0u8;
        let mut i = 0;
        while i < 8 {
            let bit = 1u8 << (7 - i);
            if pattern[i] != b'x' {
                mask |= bit;
            }
            if pattern[i] == b'1' {
                value |= bit;
            }
            i += 1;
        }
        Self { mask, value }
    }

    fn matches(&self, profile_iop: u8) -> bool {
        profile_iop & self.mask == self.value
    }
}

/// RFC 6184 Table 5 as (profile_idc, profile_iop pattern, profile); the first match wins.
const PROFILE_PATTERNS: [(u8, BitPattern, Profile); 9] = [
    (
        0x42,
        BitPattern::new(b"x1xx0000"),
        Profile::ConstrainedBaseline,
    ),
    (
        0x4d,
        BitPattern::new(b"1xxx0000"),
        Profile::ConstrainedBaseline,
    ),
    (
        0x58,
        BitPattern::new(b"11xx0000"),
        Profile::ConstrainedBaseline,
    ),
    (0x42, BitPattern::new(b"x0xx0000"), Profile::Baseline),
    (0x58, BitPattern::new(b"10xx0000"), Profile::Baseline),
    (0x4d, BitPattern::new(b"0x0x0000"), Profile::Main),
    (0x64, BitPattern::new(b"00000000"), Profile::High),
    (0x64, BitPattern::new(b"00001100"), Profile::ConstrainedHigh),
    (
        0xf4,
        BitPattern::new(b"00000000"),
        Profile::PredictiveHigh444,
    ),
];

/// Parses a 6-hex-digit `profile-level-id`; `None` when malformed or not a known profile or level.
pub(crate) fn parse_profile_level_id(s: &str) -> Option<ProfileLevelId> {
    if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let numeric = u32::from_str_radix(s, 16).ok()?;
    if numeric == 0 {
        return None;
    }
    let [_, profile_idc, profile_iop, level_idc] = numeric.to_be_bytes();
    let level = match level_idc {
        level::L1_1 if profile_iop & CONSTRAINT_SET3_FLAG != 0 => level::L1B,
        l if level::ALL.contains(&l) => l,
        _ => return None,
    };
    PROFILE_PATTERNS
        .iter()
        .find(|(idc, pattern, _)| *idc == profile_idc && pattern.matches(profile_iop))
        .map(|(_, _, profile)| ProfileLevelId {
            profile: *profile,
            level,
        })
}

/// The `profile-level-id` parameter as text. A JSON number whose decimal digits spell the hex id
/// (`420032`) is accepted as that id.
fn profile_level_id_param(params: &CodecParameters) -> Option<String> {
    match params.get("profile-level-id")? {
        ParameterValue::String(s) => Some(s.clone()),
        ParameterValue::Integer(i) => Some(i.to_string()),
        ParameterValue::Float(_) => Some(String::new()),
    }
}

/// The profile-level-id of SDP parameters: absent means constrained baseline level 3.1 (RFC 6184 §8.1).
pub(crate) fn parse_sdp_profile_level_id(params: &CodecParameters) -> Option<ProfileLevelId> {
    match profile_level_id_param(params) {
        None => Some(ProfileLevelId {
            profile: Profile::ConstrainedBaseline,
            level: level::L3_1,
        }),
        Some(s) => parse_profile_level_id(&s),
    }
}

/// Whether both parameter sets carry a valid profile-level-id of the same profile (levels ignored).
pub(crate) fn is_same_profile(a: &CodecParameters, b: &CodecParameters) -> bool {
    match (parse_sdp_profile_level_id(a), parse_sdp_profile_level_id(b)) {
        (Some(a), Some(b)) => a.profile == b.profile,
        _ => false,
    }
}

/// The canonical lower-case text of a profile-level-id; `None` for level 1b outside (constrained)
/// baseline and main, which cannot be expressed.
pub(crate) fn profile_level_id_to_string(id: ProfileLevelId) -> Option<String> {
    if id.level == level::L1B {
        return match id.profile {
            Profile::ConstrainedBaseline => Some("42f00b".to_owned()),
            Profile::Baseline => Some("42100b".to_owned()),
            Profile::Main => Some("4d100b".to_owned()),
            _ => None,
        };
    }
    let profile = match id.profile {
        Profile::ConstrainedBaseline => "42e0",
        Profile::Baseline => "4200",
        Profile::Main => "4d00",
        Profile::ConstrainedHigh => "640c",
        Profile::High => "6400",
        Profile::PredictiveHigh444 => "f400",
    };
    Some(format!("{profile}{:02x}", id.level))
}

/// `level-asymmetry-allowed` is 1 (RFC 6184 §8.1).
fn is_level_asymmetry_allowed(params: &CodecParameters) -> bool {
    params
        .get("level-asymmetry-allowed")
        .and_then(ParameterValue::as_i64)
        == Some(1)
}

/// Whether level `a` is lower than level `b`, with 1b sitting between 1 and 1.1.
fn is_less_level(a: u8, b: u8) -> bool {
    if a == level::L1B {
        return b != level::L1 && b != level::L1B;
    }
    if b == level::L1B {
        return a == level::L1;
    }
    a < b
}

fn min_level(a: u8, b: u8) -> u8 {
    if is_less_level(a, b) { a } else { b }
}

/// Why no answer can be derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AnswerError {
    /// The local profile-level-id does not parse.
    InvalidLocal,
    /// The remote profile-level-id does not parse.
    InvalidRemote,
    /// Both parse, to different profiles.
    ProfileMismatch,
}

/// The profile-level-id to answer with, given what we support (`local`) and what was offered (`remote`).
///
/// `Ok(None)` when neither side names one (both use the default). The level is the local one when both
/// sides allow level asymmetry, else the lower of the two.
pub(crate) fn generate_profile_level_id_for_answer(
    local: &CodecParameters,
    remote: &CodecParameters,
) -> Result<Option<String>, AnswerError> {
    if !local.contains_key("profile-level-id") && !remote.contains_key("profile-level-id") {
        return Ok(None);
    }
    let local_id = parse_sdp_profile_level_id(local).ok_or(AnswerError::InvalidLocal)?;
    let remote_id = parse_sdp_profile_level_id(remote).ok_or(AnswerError::InvalidRemote)?;
    if local_id.profile != remote_id.profile {
        return Err(AnswerError::ProfileMismatch);
    }
    let asymmetry = is_level_asymmetry_allowed(local) && is_level_asymmetry_allowed(remote);
    let level = if asymmetry {
        local_id.level
    } else {
        min_level(local_id.level, remote_id.level)
    };
    Ok(profile_level_id_to_string(ProfileLevelId {
        profile: local_id.profile,
        level,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Option<ProfileLevelId> {
        parse_profile_level_id(s)
    }

    fn params(pairs: &[(&str, ParameterValue)]) -> CodecParameters {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    fn plid(s: &str) -> CodecParameters {
        params(&[("profile-level-id", s.into())])
    }

    fn plid_asym(s: &str) -> CodecParameters {
        params(&[
            ("profile-level-id", s.into()),
            ("level-asymmetry-allowed", 1.into()),
        ])
    }

    #[test]
    fn malformed_ids_do_not_parse() {
        for s in [
            "", " 42e01f", "4242e01f", "e01f", "gggggg", "CHICKEN", "000000", "42e0ff", "42e011f",
            "e0e01f", "420x1f", "+42e01",
        ] {
            assert_eq!(parse(s), None, "{s:?}");
        }
    }

    #[test]
    fn levels_parse() {
        assert_eq!(parse("42e01f").unwrap().level, 31);
        assert_eq!(parse("42e00b").unwrap().level, 11);
        assert_eq!(parse("42f00b").unwrap().level, level::L1B);
        assert_eq!(parse("42C02A").unwrap().level, 42);
        assert_eq!(parse("640c34").unwrap().level, 52);
    }

    #[test]
    fn profiles_parse_per_rfc6184_table5() {
        for (s, profile) in [
            ("42e01f", Profile::ConstrainedBaseline),
            ("42C02A", Profile::ConstrainedBaseline),
            ("42401f", Profile::ConstrainedBaseline),
            ("4de01f", Profile::ConstrainedBaseline),
            ("58f01f", Profile::ConstrainedBaseline),
            ("42a01f", Profile::Baseline),
            ("42001f", Profile::Baseline),
            ("58A01F", Profile::Baseline),
            ("4D401f", Profile::Main),
            ("4d0032", Profile::Main),
            ("64001f", Profile::High),
            ("640c1f", Profile::ConstrainedHigh),
            ("f4001f", Profile::PredictiveHigh444),
        ] {
            assert_eq!(parse(s).map(|p| p.profile), Some(profile), "{s}");
        }
        // Constraint bits in the low nibble match no pattern.
        assert_eq!(parse("42e11f"), None);
    }

    #[test]
    fn ids_print_canonically() {
        let id = |profile, level| ProfileLevelId { profile, level };
        assert_eq!(
            profile_level_id_to_string(id(Profile::ConstrainedBaseline, 31)).as_deref(),
            Some("42e01f")
        );
        assert_eq!(
            profile_level_id_to_string(id(Profile::Baseline, 10)).as_deref(),
            Some("42000a")
        );
        assert_eq!(
            profile_level_id_to_string(id(Profile::Main, 31)).as_deref(),
            Some("4d001f")
        );
        assert_eq!(
            profile_level_id_to_string(id(Profile::ConstrainedHigh, 42)).as_deref(),
            Some("640c2a")
        );
        assert_eq!(
            profile_level_id_to_string(id(Profile::High, 42)).as_deref(),
            Some("64002a")
        );
        assert_eq!(
            profile_level_id_to_string(id(Profile::Main, level::L1B)).as_deref(),
            Some("4d100b")
        );
        assert_eq!(
            profile_level_id_to_string(id(Profile::High, level::L1B)),
            None
        );
        for s in ["42e01f", "42E01F", "4d100b", "4D100B", "640c2a", "640C2A"] {
            let round = profile_level_id_to_string(parse(s).unwrap()).unwrap();
            assert_eq!(round, s.to_ascii_lowercase());
        }
    }

    #[test]
    fn missing_id_is_constrained_baseline_3_1() {
        let empty = CodecParameters::new();
        assert_eq!(
            parse_sdp_profile_level_id(&empty),
            Some(ProfileLevelId {
                profile: Profile::ConstrainedBaseline,
                level: 31
            })
        );
        assert!(is_same_profile(&empty, &plid("42e015")));
        assert!(!is_same_profile(&empty, &plid("4d0032")));
        assert!(!is_same_profile(&plid("CHICKEN"), &plid("CHICKEN")));
    }

    #[test]
    fn numeric_ids_read_as_hex_digits() {
        let p = params(&[("profile-level-id", 420032.into())]);
        assert_eq!(
            parse_sdp_profile_level_id(&p).map(|p| p.profile),
            Some(Profile::Baseline)
        );
    }

    #[test]
    fn answer_without_ids_is_none() {
        let empty = CodecParameters::new();
        assert_eq!(
            generate_profile_level_id_for_answer(&empty, &empty),
            Ok(None)
        );
    }

    #[test]
    fn answer_level_is_capped_without_asymmetry() {
        assert_eq!(
            generate_profile_level_id_for_answer(&plid("42e01f"), &plid("42e015")),
            Ok(Some("42e015".to_owned()))
        );
        assert_eq!(
            generate_profile_level_id_for_answer(&plid("42e015"), &plid("42e01f")),
            Ok(Some("42e015".to_owned()))
        );
        // Only one side allows asymmetry: still capped.
        assert_eq!(
            generate_profile_level_id_for_answer(&plid_asym("42e01f"), &plid("42e015")),
            Ok(Some("42e015".to_owned()))
        );
    }

    #[test]
    fn answer_keeps_local_level_with_asymmetry() {
        assert_eq!(
            generate_profile_level_id_for_answer(&plid_asym("42e032"), &plid_asym("42e01f")),
            Ok(Some("42e032".to_owned()))
        );
        assert_eq!(
            generate_profile_level_id_for_answer(&plid_asym("42e015"), &plid_asym("42e01f")),
            Ok(Some("42e015".to_owned()))
        );
    }

    #[test]
    fn answer_fails_on_bad_or_different_profiles() {
        assert_eq!(
            generate_profile_level_id_for_answer(&plid("42e01f"), &plid("4d001f")),
            Err(AnswerError::ProfileMismatch)
        );
        assert_eq!(
            generate_profile_level_id_for_answer(&plid("CHICKEN"), &plid("4d001f")),
            Err(AnswerError::InvalidLocal)
        );
        assert_eq!(
            generate_profile_level_id_for_answer(&CodecParameters::new(), &plid("zzzzzz")),
            Err(AnswerError::InvalidRemote)
        );
    }

    #[test]
    fn level_1b_orders_between_1_and_1_1() {
        assert_eq!(min_level(level::L1B, level::L1), level::L1);
        assert_eq!(min_level(level::L1B, level::L1_1), level::L1B);
        assert_eq!(min_level(level::L1_1, level::L1B), level::L1B);
        assert_eq!(min_level(level::L1, level::L1B), level::L1);
        assert_eq!(min_level(level::L1B, level::L1B), level::L1B);
        assert_eq!(min_level(20, 31), 20);
    }
}
