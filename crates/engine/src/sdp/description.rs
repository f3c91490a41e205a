//! The typed session description: what [`super::parse`] produces and [`super::render`] writes.
//!
//! Owns: the shape of an RFC 8866 session description as WebRTC uses it (JSEP, RFC 8829): the session part,
//! the media sections and the attributes mediagate reads. Everything else is kept verbatim in
//! `other_attributes`, so nothing is lost between parsing and rendering. Must not: decide anything about the
//! negotiation (that is [`super::publish`] and [`super::subscribe`]).

use crate::rtp_parameters::{CodecParameters, MediaKind, ParameterValue};
use crate::transport_parameters::DtlsFingerprint;

/// A whole session description (an offer or an answer).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SessionDescription {
    /// `o=`.
    pub origin: Origin,
    /// `s=` (`-` when empty).
    pub session_name: String,
    /// Session-level `c=`, if any.
    pub connection: Option<Connection>,
    /// `a=ice-lite` (RFC 8839 §5.3).
    pub ice_lite: bool,
    /// Session-level `a=ice-ufrag`.
    pub ice_ufrag: Option<String>,
    /// Session-level `a=ice-pwd`.
    pub ice_pwd: Option<String>,
    /// Session-level `a=fingerprint` lines with a known hash (RFC 8122 §5).
    pub fingerprints: Vec<DtlsFingerprint>,
    /// Session-level `a=setup` (RFC 4145 §4).
    pub setup: Option<Setup>,
    /// Session-level direction attribute, the default of every media section.
    pub direction: Option<Direction>,
    /// `a=group` lines (RFC 5888), BUNDLE among them (RFC 8843).
    pub groups: Vec<Group>,
    /// `a=msid-semantic` (`WMS` and its tokens).
    pub msid_semantic: Option<MsidSemantic>,
    /// Session-level attributes not listed above, in order.
    pub other_attributes: Vec<Attribute>,
    /// The media sections, in order.
    pub media: Vec<MediaSection>,
}

impl SessionDescription {
    /// The mids of the first `a=group:BUNDLE` line (empty when there is none).
    pub fn bundle_mids(&self) -> &[String] {
        self.groups
            .iter()
            .find(|g| g.semantics.eq_ignore_ascii_case("BUNDLE"))
            .map_or(&[], |g| g.mids.as_slice())
    }

    /// The media section with `mid`.
    pub fn media_by_mid(&self, mid: &str) -> Option<&MediaSection> {
        self.media.iter().find(|m| m.mid.as_deref() == Some(mid))
    }
}

/// The `o=` line (RFC 8866 §5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// User name (`-` when none).
    pub username: String,
    /// Session id: fixed for the life of the session.
    pub session_id: u64,
    /// Session version: increases with each new offer.
    pub session_version: u64,
    /// `IP4` or `IP6`.
    pub address_type: String,
    /// Unicast address (browsers write `127.0.0.1` or `0.0.0.0`).
    pub address: String,
}

impl Default for Origin {
    fn default() -> Self {
        Self {
            username: "-".to_owned(),
            session_id: 0,
            session_version: 0,
            address_type: "IP4".to_owned(),
            address: "0.0.0.0".to_owned(),
        }
    }
}

/// A `c=` line (RFC 8866 §5.7); the network type is always `IN`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    /// `IP4` or `IP6`.
    pub address_type: String,
    /// The address.
    pub address: String,
}

/// `a=setup` values (RFC 4145 §4): who opens the DTLS association.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setup {
    /// This side is the DTLS client.
    Active,
    /// This side is the DTLS server.
    Passive,
    /// Either; only valid in offers.
    Actpass,
    /// No connection yet.
    Holdconn,
}

impl Setup {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Setup::Active => "active",
            Setup::Passive => "passive",
            Setup::Actpass => "actpass",
            Setup::Holdconn => "holdconn",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "active" => Some(Setup::Active),
            "passive" => Some(Setup::Passive),
            "actpass" => Some(Setup::Actpass),
            "holdconn" => Some(Setup::Holdconn),
            _ => None,
        }
    }
}

/// Media direction (RFC 8866 §6.7) as seen by the side that wrote the description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Sends and receives.
    Sendrecv,
    /// Only sends.
    Sendonly,
    /// Only receives.
    Recvonly,
    /// Neither.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Sendrecv => "sendrecv",
            Direction::Sendonly => "sendonly",
            Direction::Recvonly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction the other side answers with (RFC 3264 §6.1).
    pub fn reversed(self) -> Self {
        match self {
            Direction::Sendonly => Direction::Recvonly,
            Direction::Recvonly => Direction::Sendonly,
            other => other,
        }
    }

    /// Whether the writer sends media.
    pub fn sends(self) -> bool {
        matches!(self, Direction::Sendrecv | Direction::Sendonly)
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "sendrecv" => Some(Direction::Sendrecv),
            "sendonly" => Some(Direction::Sendonly),
            "recvonly" => Some(Direction::Recvonly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }
}

/// An `a=group` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// `BUNDLE`, `LS`, …
    pub semantics: String,
    /// The mids it groups.
    pub mids: Vec<String>,
}

/// `a=msid-semantic: WMS …`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsidSemantic {
    /// Always `WMS` in practice.
    pub semantic: String,
    /// Stream ids or `*`; often empty.
    pub tokens: Vec<String>,
}

/// An attribute kept verbatim: `a=name` or `a=name:value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    /// Text between `a=` and the first `:`.
    pub name: String,
    /// Text after the first `:`, if any.
    pub value: Option<String>,
}

/// The kind of a media section (`m=` first field).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SectionKind {
    /// `audio`.
    Audio,
    /// `video`.
    Video,
    /// `application` (data channels over SCTP, RFC 8841).
    Application,
    /// Anything else, kept as written.
    Other(String),
}

impl SectionKind {
    /// The `m=` token.
    pub fn as_str(&self) -> &str {
        match self {
            SectionKind::Audio => "audio",
            SectionKind::Video => "video",
            SectionKind::Application => "application",
            SectionKind::Other(s) => s,
        }
    }

    /// The RTP media kind, for audio and video sections.
    pub fn media_kind(&self) -> Option<MediaKind> {
        match self {
            SectionKind::Audio => Some(MediaKind::Audio),
            SectionKind::Video => Some(MediaKind::Video),
            _ => None,
        }
    }

    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "audio" => SectionKind::Audio,
            "video" => SectionKind::Video,
            "application" => SectionKind::Application,
            other => SectionKind::Other(other.to_owned()),
        }
    }
}

impl From<MediaKind> for SectionKind {
    fn from(kind: MediaKind) -> Self {
        match kind {
            MediaKind::Audio => SectionKind::Audio,
            MediaKind::Video => SectionKind::Video,
        }
    }
}

/// `a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtpMap {
    /// Payload type.
    pub payload_type: u8,
    /// Encoding name as written (`opus`, `VP8`, `rtx`).
    pub encoding: String,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Encoding parameters: audio channels.
    pub channels: Option<u8>,
}

/// `a=fmtp:<pt> <parameters>`, the parameters kept as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fmtp {
    /// Payload type.
    pub payload_type: u8,
    /// Format parameters as written (`minptime=10;useinbandfec=1`, `apt=96`, `0-15`).
    pub parameters: String,
}

impl Fmtp {
    /// The `key=value` parameters; tokens without `=` (such as telephone-event's `0-15`) are left out.
    pub fn codec_parameters(&self) -> CodecParameters {
        parse_codec_parameters(&self.parameters)
    }
}

/// Parses `a=fmtp` parameters: `;`-separated `key=value`. A value is an integer when its decimal form is
/// exactly the text (`1`, not `01` or `42e01f`), otherwise a string; `profile-level-id` is always a string.
pub fn parse_codec_parameters(text: &str) -> CodecParameters {
    let mut parameters = CodecParameters::new();
    for token in text.split(';') {
        let Some((key, value)) = token.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() {
            continue;
        }
        let value = match value.parse::<i64>() {
            Ok(i) if i.to_string() == value && key != "profile-level-id" => {
                ParameterValue::Integer(i)
            }
            _ => ParameterValue::String(value.to_owned()),
        };
        parameters.insert(key.to_owned(), value);
    }
    parameters
}

/// Writes codec parameters as `a=fmtp` text (`key=value;key=value`).
pub fn format_codec_parameters(parameters: &CodecParameters) -> String {
    parameters
        .iter()
        .map(|(k, v)| match v {
            ParameterValue::Integer(i) => format!("{k}={i}"),
            ParameterValue::Float(f) => format!("{k}={f}"),
            ParameterValue::String(s) => format!("{k}={s}"),
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// Which payload types an `a=rtcp-fb` line applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedbackPayload {
    /// `*`: every payload type of the section.
    All,
    /// One payload type.
    Pt(u8),
}

/// `a=rtcp-fb:<pt|*> <type> [<parameter>]` (RFC 4585 §4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtcpFb {
    /// Payload type(s).
    pub payload: FeedbackPayload,
    /// `nack`, `ccm`, `goog-remb`, `transport-cc`, …
    pub r#type: String,
    /// `pli`, `fir`, …; empty when none.
    pub parameter: String,
}

/// `a=extmap:<id>[/<direction>] <uri> [<attributes>]` (RFC 8285 §8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extmap {
    /// Local identifier (1–14 one-byte, up to 255 two-byte).
    pub id: u8,
    /// Optional direction.
    pub direction: Option<Direction>,
    /// Extension URI.
    pub uri: String,
    /// Extension attributes, if any.
    pub attributes: Option<String>,
}

/// `a=ssrc:<ssrc> <attribute>[:<value>]` (RFC 5576 §4.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsrcAttribute {
    /// The SSRC.
    pub ssrc: u32,
    /// `cname`, `msid`, …
    pub name: String,
    /// The value, if any.
    pub value: Option<String>,
}

/// `a=ssrc-group:<semantics> <ssrc>…` (RFC 5576 §4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsrcGroup {
    /// `FID` (RTX, RFC 4588 §8.1), `SIM` (legacy simulcast), `FEC-FR`, …
    pub semantics: String,
    /// The SSRCs, primary first.
    pub ssrcs: Vec<u32>,
}

/// Direction of an `a=rid` line (RFC 8851 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RidDirection {
    /// The writer sends this stream.
    Send,
    /// The writer receives this stream.
    Recv,
}

impl RidDirection {
    /// The attribute token.
    pub fn as_str(self) -> &'static str {
        match self {
            RidDirection::Send => "send",
            RidDirection::Recv => "recv",
        }
    }
}

/// `a=rid:<id> <send|recv> [<restrictions>]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rid {
    /// RTP stream id.
    pub id: String,
    /// Direction.
    pub direction: RidDirection,
    /// Restrictions as written (`pt=96;max-width=1280`), if any.
    pub restrictions: Option<String>,
}

/// One alternative of a simulcast stream (RFC 8853 §5.1): a rid, possibly paused (`~`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimulcastRid {
    /// The rid.
    pub rid: String,
    /// Written with `~`: initially paused.
    pub paused: bool,
}

/// A simulcast stream: its alternatives, first preferred.
pub type SimulcastStream = Vec<SimulcastRid>;

/// `a=simulcast:[send <streams>] [recv <streams>]` (RFC 8853).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Simulcast {
    /// Streams the writer sends.
    pub send: Vec<SimulcastStream>,
    /// Streams the writer receives.
    pub recv: Vec<SimulcastStream>,
}

/// `a=msid:<stream id> [<track id>]` (RFC 8830).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Msid {
    /// Stream id (`-` for none).
    pub stream_id: String,
    /// Track id (appdata).
    pub track_id: Option<String>,
}

/// One `m=` section and its attributes.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaSection {
    /// Media kind.
    pub kind: SectionKind,
    /// Port; 0 means rejected (or, in JSEP, bundle-only).
    pub port: u16,
    /// `UDP/TLS/RTP/SAVPF`, `UDP/DTLS/SCTP`, …
    pub protocol: String,
    /// Formats: payload types for RTP, `webrtc-datachannel` for SCTP.
    pub formats: Vec<String>,
    /// Media-level `c=`.
    pub connection: Option<Connection>,
    /// `a=mid` (RFC 5888).
    pub mid: Option<String>,
    /// The direction attribute, if written (see [`MediaSection::direction`] for the effective one).
    pub direction: Option<Direction>,
    /// `a=rtpmap` lines.
    pub rtpmaps: Vec<RtpMap>,
    /// `a=fmtp` lines.
    pub fmtps: Vec<Fmtp>,
    /// `a=rtcp-fb` lines.
    pub rtcp_fbs: Vec<RtcpFb>,
    /// `a=extmap` lines.
    pub extmaps: Vec<Extmap>,
    /// `a=ssrc` lines.
    pub ssrcs: Vec<SsrcAttribute>,
    /// `a=ssrc-group` lines.
    pub ssrc_groups: Vec<SsrcGroup>,
    /// `a=rid` lines.
    pub rids: Vec<Rid>,
    /// `a=simulcast`.
    pub simulcast: Option<Simulcast>,
    /// `a=msid` lines.
    pub msids: Vec<Msid>,
    /// Media-level `a=ice-ufrag`.
    pub ice_ufrag: Option<String>,
    /// Media-level `a=ice-pwd`.
    pub ice_pwd: Option<String>,
    /// Media-level `a=fingerprint` lines with a known hash.
    pub fingerprints: Vec<DtlsFingerprint>,
    /// Media-level `a=setup`.
    pub setup: Option<Setup>,
    /// `a=rtcp-mux` (RFC 5761).
    pub rtcp_mux: bool,
    /// `a=rtcp-rsize` (RFC 5506).
    pub rtcp_rsize: bool,
    /// `a=sctp-port` (RFC 8841 §5).
    pub sctp_port: Option<u16>,
    /// `a=max-message-size` (RFC 8841 §6).
    pub max_message_size: Option<u32>,
    /// `a=candidate` values as written (mediagate is ICE-lite and learns peers from STUN, so they are not read).
    pub candidates: Vec<String>,
    /// `a=end-of-candidates`.
    pub end_of_candidates: bool,
    /// Media-level attributes not listed above, in order.
    pub other_attributes: Vec<Attribute>,
}

impl MediaSection {
    /// An empty section of `kind`, port 9, no formats.
    pub fn new(kind: SectionKind, protocol: &str) -> Self {
        Self {
            kind,
            port: 9,
            protocol: protocol.to_owned(),
            formats: Vec::new(),
            connection: None,
            mid: None,
            direction: None,
            rtpmaps: Vec::new(),
            fmtps: Vec::new(),
            rtcp_fbs: Vec::new(),
            extmaps: Vec::new(),
            ssrcs: Vec::new(),
            ssrc_groups: Vec::new(),
            rids: Vec::new(),
            simulcast: None,
            msids: Vec::new(),
            ice_ufrag: None,
            ice_pwd: None,
            fingerprints: Vec::new(),
            setup: None,
            rtcp_mux: false,
            rtcp_rsize: false,
            sctp_port: None,
            max_message_size: None,
            candidates: Vec::new(),
            end_of_candidates: false,
            other_attributes: Vec::new(),
        }
    }

    /// Whether the section is rejected (port 0). JSEP's `a=bundle-only` sections also have port 0 but are
    /// not rejected.
    pub fn is_rejected(&self) -> bool {
        self.port == 0
            && !self
                .other_attributes
                .iter()
                .any(|a| a.name == "bundle-only")
    }

    /// The effective direction: the section's attribute, else sendrecv (RFC 8866 §6.7). Use
    /// [`MediaSection::direction_in`] to fall back to a session-level attribute.
    pub fn effective_direction(&self) -> Direction {
        self.direction.unwrap_or(Direction::Sendrecv)
    }

    /// The effective direction inside `session`: the section's attribute, else the session's, else sendrecv.
    pub fn direction_in(&self, session: &SessionDescription) -> Direction {
        self.direction
            .or(session.direction)
            .unwrap_or(Direction::Sendrecv)
    }

    /// The `a=rtpmap` of payload type `pt`, with the RFC 3551 static assignments as a fallback.
    pub fn rtpmap(&self, pt: u8) -> Option<RtpMap> {
        if let Some(map) = self.rtpmaps.iter().find(|m| m.payload_type == pt) {
            return Some(map.clone());
        }
        let (encoding, clock_rate) = match pt {
            0 => ("PCMU", 8000),
            8 => ("PCMA", 8000),
            9 => ("G722", 8000),
            13 => ("CN", 8000),
            _ => return None,
        };
        Some(RtpMap {
            payload_type: pt,
            encoding: encoding.to_owned(),
            clock_rate,
            channels: None,
        })
    }

    /// The format parameters of payload type `pt` (empty when there is no `a=fmtp`).
    pub fn fmtp(&self, pt: u8) -> CodecParameters {
        self.fmtps
            .iter()
            .filter(|f| f.payload_type == pt)
            .flat_map(|f| f.codec_parameters())
            .collect()
    }

    /// The feedback of payload type `pt`: its own `a=rtcp-fb` lines and the `*` ones, without duplicates.
    pub fn feedback(&self, pt: u8) -> Vec<crate::rtp_parameters::RtcpFeedback> {
        let mut out: Vec<crate::rtp_parameters::RtcpFeedback> = Vec::new();
        for fb in &self.rtcp_fbs {
            let applies = match fb.payload {
                FeedbackPayload::All => true,
                FeedbackPayload::Pt(p) => p == pt,
            };
            if applies
                && !out
                    .iter()
                    .any(|f| f.r#type == fb.r#type && f.parameter == fb.parameter)
            {
                out.push(crate::rtp_parameters::RtcpFeedback::new(
                    &fb.r#type,
                    &fb.parameter,
                ));
            }
        }
        out
    }

    /// The payload types of the `m=` line that are numbers, in order.
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats.iter().filter_map(|f| f.parse::<u8>().ok())
    }

    /// The value of `a=ssrc:<ssrc> <name>:…`.
    pub fn ssrc_attribute(&self, ssrc: u32, name: &str) -> Option<&str> {
        self.ssrcs
            .iter()
            .find(|a| a.ssrc == ssrc && a.name == name)
            .and_then(|a| a.value.as_deref())
    }
}
