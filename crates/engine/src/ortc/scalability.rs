//! Scalability modes (W3C WebRTC-SVC): `L<spatial>T<temporal>`, `S<spatial>T<temporal>`, with an optional
//! `h` (1.5:1 spatial ratio) and an optional `_KEY…` suffix (K-SVC).

use super::ScalabilityMode;

impl Default for ScalabilityMode {
    /// One spatial and one temporal layer.
    fn default() -> Self {
        Self {
            spatial_layers: 1,
            temporal_layers: 1,
            ksvc: false,
        }
    }
}

/// A layer count 1–16 without leading zeros, at the start of `s`; returns it and the rest.
fn layer_count(s: &str) -> Option<(u8, &str)> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (number, rest) = s.split_at(digits);
    if number.is_empty() || number.len() > 2 || number.starts_with('0') {
        return None;
    }
    let n: u8 = number.parse().ok()?;
    (1..=16).contains(&n).then_some((n, rest))
}

fn parse(mode: &str) -> Option<ScalabilityMode> {
    let rest = mode.strip_prefix(['L', 'S'])?;
    let (spatial_layers, rest) = layer_count(rest)?;
    let rest = rest.strip_prefix('T')?;
    let (temporal_layers, rest) = layer_count(rest)?;
    let rest = rest.strip_prefix('h').unwrap_or(rest);
    let ksvc = match rest {
        "" => false,
        suffix if suffix.starts_with("_KEY") => true,
        _ => return None,
    };
    Some(ScalabilityMode {
        spatial_layers,
        temporal_layers,
        ksvc,
    })
}

pub(crate) fn parse_scalability_mode(mode: Option<&str>) -> ScalabilityMode {
    mode.and_then(parse).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(spatial_layers: u8, temporal_layers: u8, ksvc: bool) -> ScalabilityMode {
        ScalabilityMode {
            spatial_layers,
            temporal_layers,
            ksvc,
        }
    }

    #[test]
    fn parses_layers_and_ksvc() {
        assert_eq!(parse_scalability_mode(Some("L1T3")), mode(1, 3, false));
        assert_eq!(parse_scalability_mode(Some("L3T2_KEY")), mode(3, 2, true));
        assert_eq!(
            parse_scalability_mode(Some("L3T3_KEY_SHIFT")),
            mode(3, 3, true)
        );
        assert_eq!(parse_scalability_mode(Some("S2T3")), mode(2, 3, false));
        assert_eq!(parse_scalability_mode(Some("L2T2h")), mode(2, 2, false));
        assert_eq!(parse_scalability_mode(Some("S3T3h")), mode(3, 3, false));
        assert_eq!(parse_scalability_mode(Some("L16T16")), mode(16, 16, false));
        assert_eq!(parse_scalability_mode(Some("L10T1")), mode(10, 1, false));
    }

    #[test]
    fn garbage_and_absence_give_one_by_one() {
        for bad in [
            "", "foo", "S0T3", "S1T0", "L17T3", "L3T17", "S200T3", "L01T3", "l1t3", "L1T3_FOO",
            "L1T3x", "L1", "T3", "LT3", "L1T",
        ] {
            assert_eq!(
                parse_scalability_mode(Some(bad)),
                mode(1, 1, false),
                "{bad:?}"
            );
        }
        assert_eq!(parse_scalability_mode(None), mode(1, 1, false));
    }
}
