//! Network-facing parameters of transports in mediasoup's JSON shape: ICE, DTLS, SRTP and tuples.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Local ICE credentials of a WebRTC transport.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IceParameters {
    /// ICE username fragment.
    pub username_fragment: String,
    /// ICE password.
    pub password: String,
    /// Always true: the server is ICE-lite.
    pub ice_lite: bool,
}

/// Transport protocol of a candidate or tuple.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
}

/// ICE candidate type; an ICE-lite server has host candidates only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IceCandidateType {
    /// A host candidate.
    Host,
}

/// TCP candidate type (RFC 6544); the server is always passive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IceCandidateTcpType {
    /// Accepts connections.
    Passive,
}

/// A local ICE candidate of a WebRTC transport.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IceCandidate {
    /// Foundation (`udpcandidate` or `tcpcandidate`).
    pub foundation: String,
    /// Candidate priority.
    pub priority: u32,
    /// Address (deprecated alias of `address`, kept for older clients).
    pub ip: String,
    /// Address the client must send to.
    pub address: String,
    /// Protocol.
    pub protocol: Protocol,
    /// Port.
    pub port: u16,
    /// Always `host`.
    #[serde(rename = "type")]
    pub r#type: IceCandidateType,
    /// `passive` for TCP candidates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_type: Option<IceCandidateTcpType>,
}

/// ICE state of a WebRTC transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IceState {
    /// No check received yet.
    New,
    /// A valid check was received.
    Connected,
    /// A candidate was nominated.
    Completed,
    /// Consent expired.
    Disconnected,
    /// Closed.
    Closed,
}

/// DTLS role.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DtlsRole {
    /// Decided by the other side.
    #[default]
    Auto,
    /// DTLS client.
    Client,
    /// DTLS server.
    Server,
}

/// Hash algorithm of a certificate fingerprint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum FingerprintAlgorithm {
    /// SHA-1.
    #[serde(rename = "sha-1")]
    Sha1,
    /// SHA-224.
    #[serde(rename = "sha-224")]
    Sha224,
    /// SHA-256.
    #[serde(rename = "sha-256")]
    Sha256,
    /// SHA-384.
    #[serde(rename = "sha-384")]
    Sha384,
    /// SHA-512.
    #[serde(rename = "sha-512")]
    Sha512,
}

/// A certificate fingerprint (`a=fingerprint`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DtlsFingerprint {
    /// Hash algorithm.
    pub algorithm: FingerprintAlgorithm,
    /// Upper-case colon-separated hex digest.
    pub value: String,
}

/// DTLS parameters of one side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DtlsParameters {
    /// Role; `auto` when absent.
    #[serde(default)]
    pub role: DtlsRole,
    /// Certificate fingerprints (at least one).
    pub fingerprints: Vec<DtlsFingerprint>,
}

/// DTLS state of a WebRTC transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DtlsState {
    /// Not started.
    New,
    /// Handshake in progress.
    Connecting,
    /// Handshake done; SRTP keys in use.
    Connected,
    /// Handshake failed or the certificate did not match.
    Failed,
    /// Closed.
    Closed,
}

/// SCTP association state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SctpState {
    /// Not started.
    New,
    /// Association being set up.
    Connecting,
    /// Association up.
    Connected,
    /// Association failed.
    Failed,
    /// Closed.
    Closed,
}

/// SRTP crypto suite of a plain transport.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[allow(non_camel_case_types)]
pub enum SrtpCryptoSuite {
    /// AES-GCM with a 128-bit key (RFC 7714).
    AEAD_AES_128_GCM,
    /// AES-GCM with a 256-bit key (RFC 7714).
    AEAD_AES_256_GCM,
    /// AES counter mode with an 80-bit HMAC-SHA1 tag (RFC 3711): mediasoup's default.
    #[default]
    AES_CM_128_HMAC_SHA1_80,
    /// AES counter mode with a 32-bit HMAC-SHA1 tag.
    AES_CM_128_HMAC_SHA1_32,
}

impl SrtpCryptoSuite {
    /// Master key plus master salt length in bytes.
    pub fn key_length(self) -> usize {
        match self {
            SrtpCryptoSuite::AEAD_AES_128_GCM => 16 + 12,
            SrtpCryptoSuite::AEAD_AES_256_GCM => 32 + 12,
            SrtpCryptoSuite::AES_CM_128_HMAC_SHA1_80 | SrtpCryptoSuite::AES_CM_128_HMAC_SHA1_32 => {
                16 + 14
            }
        }
    }
}

/// SDES-style SRTP keying of a plain transport.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SrtpParameters {
    /// Crypto suite.
    pub crypto_suite: SrtpCryptoSuite,
    /// Master key and salt, base64.
    pub key_base64: String,
}

/// A local/remote address pair of a transport.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransportTuple {
    /// Local address clients send to (the announced address when one is set).
    pub local_address: String,
    /// Same as `localAddress` (mediasoup's older name).
    pub local_ip: String,
    /// Local port.
    pub local_port: u16,
    /// Remote address, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub remote_ip: Option<IpAddr>,
    /// Remote port, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_port: Option<u16>,
    /// Protocol.
    pub protocol: Protocol,
}
