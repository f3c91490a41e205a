//! The server's side of a description: [`LocalDescription`] and the transport attributes every answer and
//! offer carries (RFC 8839 ICE-lite attributes and candidates, RFC 8122 fingerprints, RFC 4145 setup).
//!
//! Owns: turning a WebRTC transport's ICE/DTLS/SCTP parameters into session and media attributes. Must not:
//! decide codecs or directions.

use crate::sctp_parameters::SctpParameters;
use crate::transport_parameters::{
    DtlsFingerprint, IceCandidate, IceCandidateTcpType, IceParameters, Protocol,
};

use super::description::{
    Connection, MediaSection, MsidSemantic, Origin, SessionDescription, Setup,
};

/// What the server puts in its descriptions: one WebRTC transport's parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalDescription {
    /// The transport's ICE credentials (always ICE-lite).
    pub ice_parameters: IceParameters,
    /// The transport's host candidates; the first UDP one gives the `c=` address and `m=` port.
    pub ice_candidates: Vec<IceCandidate>,
    /// The transport's certificate fingerprints.
    pub dtls_fingerprints: Vec<DtlsFingerprint>,
    /// SCTP parameters when the transport carries data channels.
    pub sctp: Option<SctpParameters>,
    /// The `o=` session id: fixed for the life of the transport, the version alone increases.
    pub session_id: u64,
}

impl LocalDescription {
    /// The default candidate's address and port (RFC 8839 §5.1: they go in `c=` and `m=`): the first UDP
    /// candidate, else the first candidate, else the placeholder `0.0.0.0` port 9.
    pub(crate) fn default_address(&self) -> (Connection, u16) {
        let candidate = self
            .ice_candidates
            .iter()
            .find(|c| c.protocol == Protocol::Udp)
            .or_else(|| self.ice_candidates.first());
        match candidate {
            Some(c) => (
                Connection {
                    address_type: if c.address.contains(':') {
                        "IP6"
                    } else {
                        "IP4"
                    }
                    .to_owned(),
                    address: c.address.clone(),
                },
                c.port,
            ),
            None => (
                Connection {
                    address_type: "IP4".to_owned(),
                    address: "0.0.0.0".to_owned(),
                },
                9,
            ),
        }
    }

    /// A session part: ICE-lite, credentials, fingerprints, `setup`, `msid-semantic`; no group, no media.
    pub(crate) fn session(&self, session_version: u64, setup: Setup) -> SessionDescription {
        SessionDescription {
            origin: Origin {
                username: "-".to_owned(),
                session_id: self.session_id,
                session_version,
                address_type: "IP4".to_owned(),
                address: "0.0.0.0".to_owned(),
            },
            session_name: "mediagate".to_owned(),
            ice_lite: true,
            ice_ufrag: Some(self.ice_parameters.username_fragment.clone()),
            ice_pwd: Some(self.ice_parameters.password.clone()),
            fingerprints: self.dtls_fingerprints.clone(),
            setup: Some(setup),
            msid_semantic: Some(MsidSemantic {
                semantic: "WMS".to_owned(),
                tokens: Vec::new(),
            }),
            ..Default::default()
        }
    }

    /// Fills an accepted section's transport: default address, credentials and setup (repeated from the
    /// session level, as mediasoup-client does, for parsers that read them per section), candidates,
    /// `a=end-of-candidates` (a lite server has them all) and `a=rtcp-mux` for RTP.
    pub(crate) fn fill_transport(&self, media: &mut MediaSection, setup: Setup, rtp: bool) {
        let (connection, port) = self.default_address();
        media.port = port;
        media.connection = Some(connection);
        media.ice_ufrag = Some(self.ice_parameters.username_fragment.clone());
        media.ice_pwd = Some(self.ice_parameters.password.clone());
        media.setup = Some(setup);
        media.candidates = self.ice_candidates.iter().map(candidate_value).collect();
        media.end_of_candidates = true;
        media.rtcp_mux = rtp;
    }
}

/// A rejected section's connection line (RFC 8829 §5.3.1 writes no transport for it).
pub(crate) fn rejected_connection() -> Connection {
    Connection {
        address_type: "IP4".to_owned(),
        address: "0.0.0.0".to_owned(),
    }
}

/// The value of an `a=candidate` line (RFC 8839 §5.1): component 1 (RTCP is muxed), `typ host`, and
/// `tcptype passive` for TCP (RFC 6544 §4.5).
pub fn candidate_value(c: &IceCandidate) -> String {
    let protocol = match c.protocol {
        Protocol::Udp => "udp",
        Protocol::Tcp => "tcp",
    };
    let mut value = format!(
        "{} 1 {protocol} {} {} {} typ host",
        c.foundation, c.priority, c.address, c.port
    );
    if c.protocol == Protocol::Tcp {
        let IceCandidateTcpType::Passive = c.tcp_type.unwrap_or(IceCandidateTcpType::Passive);
        value.push_str(" tcptype passive");
    }
    value
}
