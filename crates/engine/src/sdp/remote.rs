//! The peer's DTLS parameters read from its description (RFC 8122 §5 fingerprints, RFC 4145 §4 and RFC 5763
//! §5 setup roles).
//!
//! Owns: choosing which fingerprints count (the BUNDLE-tag section's, else the session's, else the first
//! section that has some) and the role the peer takes. Must not: compare fingerprints with a certificate.

use crate::transport_parameters::{DtlsFingerprint, DtlsParameters, DtlsRole};

use super::description::{SessionDescription, Setup};
use super::error::SdpError;

/// Offer or answer: which `a=setup` values are allowed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Offer,
    Answer,
}

/// The peer's fingerprints and DTLS role. In an offer `actpass` (or no `a=setup`, RFC 5763 §5's default for
/// an offerer) and `active` make the peer the DTLS client, `passive` the server. In an answer `active` (or no
/// `a=setup`, RFC 4145's default) makes it the client, `passive` the server; `actpass` is refused. `holdconn`
/// is refused in both.
pub(crate) fn remote_dtls(
    desc: &SessionDescription,
    tag_mid: Option<&str>,
    side: Side,
) -> Result<DtlsParameters, SdpError> {
    let tag = tag_mid.and_then(|mid| desc.media_by_mid(mid));
    let fingerprints: Vec<DtlsFingerprint> = tag
        .map(|m| m.fingerprints.clone())
        .filter(|f| !f.is_empty())
        .or_else(|| (!desc.fingerprints.is_empty()).then(|| desc.fingerprints.clone()))
        .or_else(|| {
            desc.media
                .iter()
                .find(|m| !m.fingerprints.is_empty())
                .map(|m| m.fingerprints.clone())
        })
        .ok_or(SdpError::NoFingerprint)?;
    let setup = tag
        .and_then(|m| m.setup)
        .or(desc.setup)
        .or_else(|| desc.media.iter().find_map(|m| m.setup));
    let side_name = match side {
        Side::Offer => "offer",
        Side::Answer => "answer",
    };
    let role = match (setup, side) {
        (None | Some(Setup::Active), _) | (Some(Setup::Actpass), Side::Offer) => DtlsRole::Client,
        (Some(Setup::Passive), _) => DtlsRole::Server,
        (Some(s), _) => return Err(SdpError::BadSetup(s.as_str(), side_name)),
    };
    Ok(DtlsParameters { role, fingerprints })
}
