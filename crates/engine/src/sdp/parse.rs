//! A tolerant parser of session descriptions (RFC 8866) into [`SessionDescription`].
//!
//! Owns: reading the text a browser sends over HTTP. Must not: panic, allocate without bound beyond the input's
//! size, or judge the negotiation. The input is untrusted: the HTTP layer bounds its size, and this parser is
//! fuzzed (`fuzz/fuzz_targets/sdp_parse.rs`).
//!
//! Tolerance: lines may end in CRLF or LF; blank lines are skipped; line types other than `v o s c t m a`
//! (`i u e p b z k r`) are ignored; unknown attributes and `a=fingerprint` lines with an unknown hash are kept
//! in `other_attributes`; `a=candidate` values are kept verbatim and not read (the server is ICE-lite). An
//! attribute mediagate reads but cannot parse (`a=rtpmap:abc`, `a=ssrc:-1 cname:x`, `a=setup:maybe`) is an
//! error naming its line: negotiating around a misread attribute would fail later and less clearly.
//!
//! Attributes read: RFC 8866 §6 (`rtpmap`, `fmtp`, directions), RFC 5888 (`group`, `mid`), RFC 8843 (BUNDLE),
//! RFC 8839 (`ice-lite`, `ice-ufrag`, `ice-pwd`, `candidate`, `end-of-candidates`), RFC 8122 (`fingerprint`),
//! RFC 4145 (`setup`), RFC 4585 (`rtcp-fb`), RFC 8285 (`extmap`), RFC 5576 (`ssrc`, `ssrc-group`), RFC 8851
//! (`rid`), RFC 8853 (`simulcast`), RFC 8830 (`msid`), RFC 5761 (`rtcp-mux`), RFC 5506 (`rtcp-rsize`),
//! RFC 8841 (`sctp-port`, `max-message-size`).

use std::str::FromStr;

use crate::transport_parameters::{DtlsFingerprint, FingerprintAlgorithm};

use super::description::{
    Attribute, Connection, Direction, Extmap, FeedbackPayload, Fmtp, Group, MediaSection, Msid,
    MsidSemantic, Origin, Rid, RidDirection, RtcpFb, RtpMap, SectionKind, SessionDescription,
    Setup, Simulcast, SimulcastRid, SimulcastStream, SsrcAttribute, SsrcGroup,
};
use super::error::{SdpError, excerpt};

/// Highest RTP payload type (RFC 3550 §5.1).
const MAX_PAYLOAD_TYPE: u8 = 127;

impl FromStr for SessionDescription {
    type Err = SdpError;

    fn from_str(text: &str) -> Result<Self, SdpError> {
        parse(text)
    }
}

/// Parses a session description.
pub fn parse(text: &str) -> Result<SessionDescription, SdpError> {
    let mut session = SessionDescription::default();
    let mut seen_version = false;
    let mut seen_origin = false;
    for (index, raw) in text.split('\n').enumerate() {
        let line_no = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        let bad = |problem: String| SdpError::Malformed {
            line: line_no,
            problem,
        };
        let bytes = line.as_bytes();
        if bytes.len() < 2 || bytes[1] != b'=' || !bytes[0].is_ascii_lowercase() {
            return Err(bad(format!(
                "not a <type>=<value> line: {:?}",
                excerpt(line)
            )));
        }
        let (kind, value) = (bytes[0] as char, &line[2..]);
        if !seen_version {
            if kind != 'v' || value.trim() != "0" {
                return Err(bad("a description starts with v=0".to_owned()));
            }
            seen_version = true;
            continue;
        }
        match kind {
            'v' => return Err(bad("a second v= line".to_owned())),
            'o' if session.media.is_empty() => {
                session.origin = parse_origin(value).map_err(bad)?;
                seen_origin = true;
            }
            's' if session.media.is_empty() => session.session_name = value.to_owned(),
            'c' => {
                let connection = parse_connection(value).map_err(bad)?;
                match session.media.last_mut() {
                    Some(media) => media.connection = Some(connection),
                    None => session.connection = Some(connection),
                }
            }
            'm' => session.media.push(parse_media_line(value).map_err(bad)?),
            'a' => {
                let (name, attr_value) = match value.split_once(':') {
                    Some((n, v)) => (n, Some(v)),
                    None => (value, None),
                };
                match session.media.last_mut() {
                    Some(media) => media_attribute(media, name, attr_value).map_err(bad)?,
                    None => session_attribute(&mut session, name, attr_value).map_err(bad)?,
                }
            }
            _ => {}
        }
    }
    if !seen_version {
        return Err(SdpError::MissingLine('v'));
    }
    if !seen_origin {
        return Err(SdpError::MissingLine('o'));
    }
    Ok(session)
}

fn parse_origin(value: &str) -> Result<Origin, String> {
    let fields: Vec<&str> = value.split_whitespace().collect();
    let [username, id, version, _net, address_type, address] = fields[..] else {
        return Err(format!("o= needs 6 fields: {:?}", excerpt(value)));
    };
    let number = |s: &str, what: &str| {
        s.parse::<u64>()
            .map_err(|_| format!("o= {what} is not a number: {:?}", excerpt(s)))
    };
    Ok(Origin {
        username: username.to_owned(),
        session_id: number(id, "session id")?,
        session_version: number(version, "session version")?,
        address_type: address_type.to_owned(),
        address: address.to_owned(),
    })
}

fn parse_connection(value: &str) -> Result<Connection, String> {
    let fields: Vec<&str> = value.split_whitespace().collect();
    let [_net, address_type, address] = fields[..] else {
        return Err(format!("c= needs 3 fields: {:?}", excerpt(value)));
    };
    Ok(Connection {
        address_type: address_type.to_owned(),
        address: address.to_owned(),
    })
}

fn parse_media_line(value: &str) -> Result<MediaSection, String> {
    let mut fields = value.split_whitespace();
    let (Some(kind), Some(port), Some(protocol)) = (fields.next(), fields.next(), fields.next())
    else {
        return Err(format!(
            "m= needs media, port and protocol: {:?}",
            excerpt(value)
        ));
    };
    // `<port>/<number of ports>` is allowed; the count is irrelevant with BUNDLE.
    let port_text = port.split_once('/').map_or(port, |(p, _)| p);
    let port = port_text
        .parse::<u16>()
        .map_err(|_| format!("m= port is not a port number: {:?}", excerpt(port)))?;
    let mut media = MediaSection::new(SectionKind::parse(kind), protocol);
    media.port = port;
    media.formats = fields.map(str::to_owned).collect();
    Ok(media)
}

fn session_attribute(
    session: &mut SessionDescription,
    name: &str,
    value: Option<&str>,
) -> Result<(), String> {
    match (name, value) {
        ("ice-lite", _) => session.ice_lite = true,
        ("ice-ufrag", Some(v)) => session.ice_ufrag = Some(v.trim().to_owned()),
        ("ice-pwd", Some(v)) => session.ice_pwd = Some(v.trim().to_owned()),
        ("setup", Some(v)) => session.setup = Some(parse_setup(v)?),
        ("group", Some(v)) => {
            let mut fields = v.split_whitespace();
            let semantics = fields
                .next()
                .ok_or_else(|| "a=group without semantics".to_owned())?;
            session.groups.push(Group {
                semantics: semantics.to_owned(),
                mids: fields.map(str::to_owned).collect(),
            });
        }
        ("msid-semantic", Some(v)) => {
            let mut fields = v.split_whitespace();
            let semantic = fields
                .next()
                .ok_or_else(|| "a=msid-semantic without a semantic".to_owned())?;
            session.msid_semantic = Some(MsidSemantic {
                semantic: semantic.to_owned(),
                tokens: fields.map(str::to_owned).collect(),
            });
        }
        ("fingerprint", Some(v)) => match parse_fingerprint(v)? {
            Some(fp) => session.fingerprints.push(fp),
            None => session.other_attributes.push(attribute(name, value)),
        },
        (dir, None) if Direction::parse(dir).is_some() => session.direction = Direction::parse(dir),
        _ => session.other_attributes.push(attribute(name, value)),
    }
    Ok(())
}

fn media_attribute(
    media: &mut MediaSection,
    name: &str,
    value: Option<&str>,
) -> Result<(), String> {
    match (name, value) {
        ("mid", Some(v)) => media.mid = Some(v.trim().to_owned()),
        ("rtpmap", Some(v)) => media.rtpmaps.push(parse_rtpmap(v)?),
        ("fmtp", Some(v)) => {
            let (pt, parameters) = v.split_once(' ').unwrap_or((v, ""));
            media.fmtps.push(Fmtp {
                payload_type: parse_payload_type(pt, "a=fmtp")?,
                parameters: parameters.trim().to_owned(),
            });
        }
        ("rtcp-fb", Some(v)) => media.rtcp_fbs.push(parse_rtcp_fb(v)?),
        ("extmap", Some(v)) => media.extmaps.push(parse_extmap(v)?),
        ("ssrc", Some(v)) => media.ssrcs.push(parse_ssrc(v)?),
        ("ssrc-group", Some(v)) => {
            let mut fields = v.split_whitespace();
            let semantics = fields
                .next()
                .ok_or_else(|| "a=ssrc-group without semantics".to_owned())?;
            let ssrcs = fields
                .map(|s| parse_u32(s, "a=ssrc-group ssrc"))
                .collect::<Result<_, _>>()?;
            media.ssrc_groups.push(SsrcGroup {
                semantics: semantics.to_owned(),
                ssrcs,
            });
        }
        ("rid", Some(v)) => media.rids.push(parse_rid(v)?),
        ("simulcast", Some(v)) => media.simulcast = Some(parse_simulcast(v)?),
        ("msid", Some(v)) => {
            let mut fields = v.split_whitespace();
            let stream_id = fields
                .next()
                .ok_or_else(|| "a=msid without a stream id".to_owned())?;
            media.msids.push(Msid {
                stream_id: stream_id.to_owned(),
                track_id: fields.next().map(str::to_owned),
            });
        }
        ("ice-ufrag", Some(v)) => media.ice_ufrag = Some(v.trim().to_owned()),
        ("ice-pwd", Some(v)) => media.ice_pwd = Some(v.trim().to_owned()),
        ("fingerprint", Some(v)) => match parse_fingerprint(v)? {
            Some(fp) => media.fingerprints.push(fp),
            None => media.other_attributes.push(attribute(name, value)),
        },
        ("setup", Some(v)) => media.setup = Some(parse_setup(v)?),
        ("rtcp-mux", _) => media.rtcp_mux = true,
        ("rtcp-rsize", _) => media.rtcp_rsize = true,
        ("sctp-port", Some(v)) => {
            media.sctp_port = Some(
                v.trim()
                    .parse()
                    .map_err(|_| format!("a=sctp-port is not a port: {:?}", excerpt(v)))?,
            );
        }
        ("max-message-size", Some(v)) => {
            media.max_message_size = Some(parse_u32(v.trim(), "a=max-message-size")?);
        }
        ("candidate", Some(v)) => media.candidates.push(v.to_owned()),
        ("end-of-candidates", _) => media.end_of_candidates = true,
        (dir, None) if Direction::parse(dir).is_some() => media.direction = Direction::parse(dir),
        _ => media.other_attributes.push(attribute(name, value)),
    }
    Ok(())
}

fn attribute(name: &str, value: Option<&str>) -> Attribute {
    Attribute {
        name: name.to_owned(),
        value: value.map(str::to_owned),
    }
}

fn parse_u32(s: &str, what: &str) -> Result<u32, String> {
    s.parse()
        .map_err(|_| format!("{what} is not a 32-bit number: {:?}", excerpt(s)))
}

fn parse_payload_type(s: &str, what: &str) -> Result<u8, String> {
    match s.trim().parse::<u8>() {
        Ok(pt) if pt <= MAX_PAYLOAD_TYPE => Ok(pt),
        _ => Err(format!(
            "{what} payload type is not 0-127: {:?}",
            excerpt(s)
        )),
    }
}

fn parse_setup(v: &str) -> Result<Setup, String> {
    Setup::parse(v.trim()).ok_or_else(|| format!("unknown a=setup value: {:?}", excerpt(v)))
}

/// `sha-256 AB:CD:…`; `Ok(None)` for a hash mediagate does not know.
fn parse_fingerprint(v: &str) -> Result<Option<DtlsFingerprint>, String> {
    let Some((algorithm, value)) = v.trim().split_once(' ') else {
        return Err(format!(
            "a=fingerprint needs a hash and a value: {:?}",
            excerpt(v)
        ));
    };
    let algorithm = match algorithm.to_ascii_lowercase().as_str() {
        "sha-1" => FingerprintAlgorithm::Sha1,
        "sha-224" => FingerprintAlgorithm::Sha224,
        "sha-256" => FingerprintAlgorithm::Sha256,
        "sha-384" => FingerprintAlgorithm::Sha384,
        "sha-512" => FingerprintAlgorithm::Sha512,
        _ => return Ok(None),
    };
    let value = value.trim();
    let well_formed = !value.is_empty()
        && value
            .split(':')
            .all(|byte| byte.len() == 2 && byte.bytes().all(|b| b.is_ascii_hexdigit()));
    if !well_formed {
        return Err(format!(
            "a=fingerprint value is not colon-separated hex: {:?}",
            excerpt(value)
        ));
    }
    Ok(Some(DtlsFingerprint {
        algorithm,
        value: value.to_ascii_uppercase(),
    }))
}

fn parse_rtpmap(v: &str) -> Result<RtpMap, String> {
    let malformed = || format!("a=rtpmap needs <pt> <name>/<rate>: {:?}", excerpt(v));
    let (pt, rest) = v.trim().split_once(' ').ok_or_else(malformed)?;
    let mut parts = rest.trim().split('/');
    let encoding = parts
        .next()
        .filter(|e| !e.is_empty())
        .ok_or_else(malformed)?;
    let clock_rate = parts
        .next()
        .and_then(|r| r.parse::<u32>().ok())
        .filter(|&r| r > 0)
        .ok_or_else(malformed)?;
    let channels = match parts.next() {
        Some(c) => Some(
            c.parse::<u8>()
                .map_err(|_| format!("a=rtpmap channels is not 0-255: {:?}", excerpt(c)))?,
        ),
        None => None,
    };
    Ok(RtpMap {
        payload_type: parse_payload_type(pt, "a=rtpmap")?,
        encoding: encoding.to_owned(),
        clock_rate,
        channels,
    })
}

fn parse_rtcp_fb(v: &str) -> Result<RtcpFb, String> {
    let mut fields = v.split_whitespace();
    let (Some(pt), Some(r#type)) = (fields.next(), fields.next()) else {
        return Err(format!("a=rtcp-fb needs <pt> <type>: {:?}", excerpt(v)));
    };
    let payload = if pt == "*" {
        FeedbackPayload::All
    } else {
        FeedbackPayload::Pt(parse_payload_type(pt, "a=rtcp-fb")?)
    };
    Ok(RtcpFb {
        payload,
        r#type: r#type.to_owned(),
        parameter: fields.collect::<Vec<_>>().join(" "),
    })
}

fn parse_extmap(v: &str) -> Result<Extmap, String> {
    let mut fields = v.split_whitespace();
    let (Some(id), Some(uri)) = (fields.next(), fields.next()) else {
        return Err(format!("a=extmap needs <id> <uri>: {:?}", excerpt(v)));
    };
    let (id, direction) = match id.split_once('/') {
        Some((id, dir)) => (
            id,
            Some(
                Direction::parse(dir)
                    .ok_or_else(|| format!("a=extmap direction unknown: {:?}", excerpt(dir)))?,
            ),
        ),
        None => (id, None),
    };
    let id = id
        .parse::<u8>()
        .ok()
        .filter(|&id| id > 0)
        .ok_or_else(|| format!("a=extmap id is not 1-255: {:?}", excerpt(id)))?;
    let attributes = fields.collect::<Vec<_>>().join(" ");
    Ok(Extmap {
        id,
        direction,
        uri: uri.to_owned(),
        attributes: (!attributes.is_empty()).then_some(attributes),
    })
}

fn parse_ssrc(v: &str) -> Result<SsrcAttribute, String> {
    let (ssrc, attr) = v
        .trim()
        .split_once(' ')
        .ok_or_else(|| format!("a=ssrc needs <ssrc> <attribute>: {:?}", excerpt(v)))?;
    let (name, value) = match attr.split_once(':') {
        Some((n, v)) => (n, Some(v.to_owned())),
        None => (attr, None),
    };
    Ok(SsrcAttribute {
        ssrc: parse_u32(ssrc, "a=ssrc")?,
        name: name.trim().to_owned(),
        value,
    })
}

fn parse_rid(v: &str) -> Result<Rid, String> {
    let mut fields = v.split_whitespace();
    let (Some(id), Some(dir)) = (fields.next(), fields.next()) else {
        return Err(format!("a=rid needs <id> <send|recv>: {:?}", excerpt(v)));
    };
    let direction = match dir {
        "send" => RidDirection::Send,
        "recv" => RidDirection::Recv,
        _ => {
            return Err(format!(
                "a=rid direction is not send or recv: {:?}",
                excerpt(dir)
            ));
        }
    };
    let restrictions = fields.collect::<Vec<_>>().join(" ");
    Ok(Rid {
        id: id.to_owned(),
        direction,
        restrictions: (!restrictions.is_empty()).then_some(restrictions),
    })
}

/// `send h;m;l recv a,b` — streams split by `;`, alternatives by `,`, `~` marks a paused rid. Old Firefox
/// wrote `rid=` before the list; it is skipped.
fn parse_simulcast(v: &str) -> Result<Simulcast, String> {
    let mut simulcast = Simulcast::default();
    let mut fields = v.split_whitespace();
    while let Some(dir) = fields.next() {
        let list = fields
            .next()
            .ok_or_else(|| format!("a=simulcast {dir} without streams"))?;
        let list = list.strip_prefix("rid=").unwrap_or(list);
        let streams: Vec<SimulcastStream> = list
            .split(';')
            .filter(|s| !s.is_empty())
            .map(|stream| {
                stream
                    .split(',')
                    .filter(|a| !a.is_empty())
                    .map(|alt| match alt.strip_prefix('~') {
                        Some(rid) => SimulcastRid {
                            rid: rid.to_owned(),
                            paused: true,
                        },
                        None => SimulcastRid {
                            rid: alt.to_owned(),
                            paused: false,
                        },
                    })
                    .collect()
            })
            .collect();
        match dir {
            "send" => simulcast.send = streams,
            "recv" => simulcast.recv = streams,
            _ => {
                return Err(format!(
                    "a=simulcast direction is not send or recv: {:?}",
                    excerpt(dir)
                ));
            }
        }
    }
    Ok(simulcast)
}
