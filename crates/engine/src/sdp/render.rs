//! Writes a [`SessionDescription`] as SDP text (RFC 8866 §5: CRLF line ends, the session part in its fixed
//! order, then each media section).
//!
//! Owns: the text form and the order of attributes inside a section, close to what browsers write (transport,
//! mid, extensions, direction, msid, rtcp, codecs, ssrcs, rids, sctp, candidates). Must not: decide values.

use std::fmt::{self, Display, Write as _};

use crate::transport_parameters::{DtlsFingerprint, FingerprintAlgorithm};

use super::description::{
    Attribute, Connection, FeedbackPayload, MediaSection, SessionDescription,
};

impl Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        write!(f, "v=0\r\n")?;
        write!(
            f,
            "o={} {} {} IN {} {}\r\n",
            o.username, o.session_id, o.session_version, o.address_type, o.address
        )?;
        let name = if self.session_name.is_empty() {
            "-"
        } else {
            &self.session_name
        };
        write!(f, "s={name}\r\n")?;
        if let Some(c) = &self.connection {
            write_connection(f, c)?;
        }
        write!(f, "t=0 0\r\n")?;
        if self.ice_lite {
            write!(f, "a=ice-lite\r\n")?;
        }
        write_transport(
            f,
            self.ice_ufrag.as_deref(),
            self.ice_pwd.as_deref(),
            &self.fingerprints,
        )?;
        if let Some(setup) = self.setup {
            write!(f, "a=setup:{}\r\n", setup.as_str())?;
        }
        for group in &self.groups {
            write!(f, "a=group:{}", group.semantics)?;
            for mid in &group.mids {
                write!(f, " {mid}")?;
            }
            write!(f, "\r\n")?;
        }
        if let Some(ms) = &self.msid_semantic {
            write!(f, "a=msid-semantic: {}", ms.semantic)?;
            for token in &ms.tokens {
                write!(f, " {token}")?;
            }
            write!(f, "\r\n")?;
        }
        if let Some(direction) = self.direction {
            write!(f, "a={}\r\n", direction.as_str())?;
        }
        write_others(f, &self.other_attributes)?;
        for media in &self.media {
            write_media(f, media)?;
        }
        Ok(())
    }
}

fn write_connection(f: &mut fmt::Formatter<'_>, c: &Connection) -> fmt::Result {
    write!(f, "c=IN {} {}\r\n", c.address_type, c.address)
}

fn write_transport(
    f: &mut fmt::Formatter<'_>,
    ufrag: Option<&str>,
    pwd: Option<&str>,
    fingerprints: &[DtlsFingerprint],
) -> fmt::Result {
    if let Some(ufrag) = ufrag {
        write!(f, "a=ice-ufrag:{ufrag}\r\n")?;
    }
    if let Some(pwd) = pwd {
        write!(f, "a=ice-pwd:{pwd}\r\n")?;
    }
    for fp in fingerprints {
        write!(
            f,
            "a=fingerprint:{} {}\r\n",
            algorithm_name(fp.algorithm),
            fp.value
        )?;
    }
    Ok(())
}

/// The RFC 8122 hash name.
pub(crate) fn algorithm_name(algorithm: FingerprintAlgorithm) -> &'static str {
    match algorithm {
        FingerprintAlgorithm::Sha1 => "sha-1",
        FingerprintAlgorithm::Sha224 => "sha-224",
        FingerprintAlgorithm::Sha256 => "sha-256",
        FingerprintAlgorithm::Sha384 => "sha-384",
        FingerprintAlgorithm::Sha512 => "sha-512",
    }
}

fn write_others(f: &mut fmt::Formatter<'_>, attributes: &[Attribute]) -> fmt::Result {
    for a in attributes {
        match &a.value {
            Some(v) => write!(f, "a={}:{v}\r\n", a.name)?,
            None => write!(f, "a={}\r\n", a.name)?,
        }
    }
    Ok(())
}

fn write_media(f: &mut fmt::Formatter<'_>, m: &MediaSection) -> fmt::Result {
    write!(f, "m={} {} {}", m.kind.as_str(), m.port, m.protocol)?;
    for format in &m.formats {
        write!(f, " {format}")?;
    }
    write!(f, "\r\n")?;
    if let Some(c) = &m.connection {
        write_connection(f, c)?;
    }
    write_transport(
        f,
        m.ice_ufrag.as_deref(),
        m.ice_pwd.as_deref(),
        &m.fingerprints,
    )?;
    if let Some(setup) = m.setup {
        write!(f, "a=setup:{}\r\n", setup.as_str())?;
    }
    if let Some(mid) = &m.mid {
        write!(f, "a=mid:{mid}\r\n")?;
    }
    for ext in &m.extmaps {
        write!(f, "a=extmap:{}", ext.id)?;
        if let Some(direction) = ext.direction {
            write!(f, "/{}", direction.as_str())?;
        }
        write!(f, " {}", ext.uri)?;
        if let Some(attributes) = &ext.attributes {
            write!(f, " {attributes}")?;
        }
        write!(f, "\r\n")?;
    }
    if let Some(direction) = m.direction {
        write!(f, "a={}\r\n", direction.as_str())?;
    }
    for msid in &m.msids {
        write!(f, "a=msid:{}", msid.stream_id)?;
        if let Some(track) = &msid.track_id {
            write!(f, " {track}")?;
        }
        write!(f, "\r\n")?;
    }
    if m.rtcp_mux {
        write!(f, "a=rtcp-mux\r\n")?;
    }
    if m.rtcp_rsize {
        write!(f, "a=rtcp-rsize\r\n")?;
    }
    // Codec attributes grouped by payload type, in m= line order; any left over afterwards.
    let mut codec_lines = String::new();
    let mut written: Vec<u8> = Vec::new();
    for pt in m
        .payload_types()
        .chain(m.rtpmaps.iter().map(|r| r.payload_type))
    {
        if written.contains(&pt) {
            continue;
        }
        written.push(pt);
        write_codec(&mut codec_lines, m, pt);
    }
    for fmtp in &m.fmtps {
        if !written.contains(&fmtp.payload_type) {
            let _ = write!(
                codec_lines,
                "a=fmtp:{} {}\r\n",
                fmtp.payload_type, fmtp.parameters
            );
        }
    }
    for fb in &m.rtcp_fbs {
        match fb.payload {
            FeedbackPayload::All => write_fb(&mut codec_lines, "*", &fb.r#type, &fb.parameter),
            FeedbackPayload::Pt(pt) if !written.contains(&pt) => {
                write_fb(&mut codec_lines, &pt.to_string(), &fb.r#type, &fb.parameter);
            }
            FeedbackPayload::Pt(_) => {}
        }
    }
    f.write_str(&codec_lines)?;
    for group in &m.ssrc_groups {
        write!(f, "a=ssrc-group:{}", group.semantics)?;
        for ssrc in &group.ssrcs {
            write!(f, " {ssrc}")?;
        }
        write!(f, "\r\n")?;
    }
    for a in &m.ssrcs {
        match &a.value {
            Some(v) => write!(f, "a=ssrc:{} {}:{v}\r\n", a.ssrc, a.name)?,
            None => write!(f, "a=ssrc:{} {}\r\n", a.ssrc, a.name)?,
        }
    }
    for rid in &m.rids {
        write!(f, "a=rid:{} {}", rid.id, rid.direction.as_str())?;
        if let Some(r) = &rid.restrictions {
            write!(f, " {r}")?;
        }
        write!(f, "\r\n")?;
    }
    if let Some(sim) = &m.simulcast {
        write!(f, "a=simulcast:")?;
        let mut first = true;
        for (dir, streams) in [("send", &sim.send), ("recv", &sim.recv)] {
            if streams.is_empty() {
                continue;
            }
            if !first {
                write!(f, " ")?;
            }
            first = false;
            let list = streams
                .iter()
                .map(|alts| {
                    alts.iter()
                        .map(|a| format!("{}{}", if a.paused { "~" } else { "" }, a.rid))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .collect::<Vec<_>>()
                .join(";");
            write!(f, "{dir} {list}")?;
        }
        write!(f, "\r\n")?;
    }
    if let Some(port) = m.sctp_port {
        write!(f, "a=sctp-port:{port}\r\n")?;
    }
    if let Some(size) = m.max_message_size {
        write!(f, "a=max-message-size:{size}\r\n")?;
    }
    write_others(f, &m.other_attributes)?;
    for candidate in &m.candidates {
        write!(f, "a=candidate:{candidate}\r\n")?;
    }
    if m.end_of_candidates {
        write!(f, "a=end-of-candidates\r\n")?;
    }
    Ok(())
}

/// `a=rtpmap`, `a=rtcp-fb` and `a=fmtp` of one payload type (the `*` feedback is written once, later).
fn write_codec(out: &mut String, m: &MediaSection, pt: u8) {
    if let Some(map) = m.rtpmaps.iter().find(|r| r.payload_type == pt) {
        let _ = write!(out, "a=rtpmap:{pt} {}/{}", map.encoding, map.clock_rate);
        if let Some(channels) = map.channels {
            let _ = write!(out, "/{channels}");
        }
        out.push_str("\r\n");
    }
    for fb in &m.rtcp_fbs {
        if fb.payload == FeedbackPayload::Pt(pt) {
            write_fb(out, &pt.to_string(), &fb.r#type, &fb.parameter);
        }
    }
    for fmtp in m.fmtps.iter().filter(|x| x.payload_type == pt) {
        let _ = write!(out, "a=fmtp:{pt} {}\r\n", fmtp.parameters);
    }
}

fn write_fb(out: &mut String, pt: &str, r#type: &str, parameter: &str) {
    if parameter.is_empty() {
        let _ = write!(out, "a=rtcp-fb:{pt} {type}\r\n");
    } else {
        let _ = write!(out, "a=rtcp-fb:{pt} {type} {parameter}\r\n");
    }
}
