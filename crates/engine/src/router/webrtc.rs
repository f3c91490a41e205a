//! A WebRTC transport's network state and the first steps of its packet path: ICE-lite checks (RFC 8445 §2.5,
//! RFC 7675 consent), the source check that lets only ICE-validated tuples through, DTLS-SRTP (RFC 5764: the
//! handshake in the role `connect` left us, keys exported into the transport's SRTP sessions), SRTP/SRTCP
//! unprotection of what arrives, and the events these state changes raise (`iceState`, selected tuple,
//! `dtlsState`).
//!
//! Owns: the transport's [`IceServer`] and [`DtlsTransport`] and its link state. Must not: route RTP (the router
//! does, once a datagram is accepted here) or know sockets beyond the [`SocketRef`]s it answers on.
//!
//! Policies: DTLS starts once `connect` gave the remote fingerprints; DTLS records from a validated tuple that
//! arrive earlier are kept (a few) and replayed then. A failed handshake (fingerprint mismatch, fatal alert,
//! deadline) closes the transport, as a lost ICE consent does: the peer cannot be served any more.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::media::Accepted;
use super::transport::{Transport, TransportKind, WebRtcTransportSetup};
use super::{CloseReason, Router, RouterEvent};
use crate::dtls::{DtlsConfig, DtlsEvent, DtlsTransport};
use crate::ice::{DEFAULT_CLOSE_GRACE, IceEvent, IceOutcome, IceServer, MAX_RESPONSE_LEN};
use crate::ids::TransportId;
use crate::net::{Outbox, PacketKind, SocketRef, classify};
use crate::srtp::{SrtpProfile, SrtpSession, SrtpSessionOptions, split_dtls_srtp_keying_material};
use crate::transport_parameters::{
    DtlsParameters, DtlsRole, DtlsState, IceState, Protocol, TransportTuple,
};

/// Network state of a WebRTC transport.
#[derive(Debug)]
pub(crate) struct WebRtcState {
    pub(crate) setup: WebRtcTransportSetup,
    pub(crate) ice: IceServer,
    pub(crate) dtls_state: DtlsState,
    pub(crate) remote_dtls: Option<DtlsParameters>,
    pub(crate) dtls_role: DtlsRole,
    /// Decrypts what the remote side sends, once DTLS exported the keys.
    pub(crate) srtp_in: Option<SrtpSession>,
    /// Encrypts what we send, once DTLS exported the keys.
    pub(crate) srtp_out: Option<SrtpSession>,
    /// The local socket each validated tuple arrived on: the UDP port, or an ICE-TCP connection.
    tuple_sockets: Vec<(SocketAddr, SocketRef)>,
    /// The handshake and the DTLS connection, from the first datagram or timer after `connect`.
    pub(crate) dtls: Option<DtlsTransport>,
    /// DTLS datagrams from a validated tuple that came before `connect` (replayed when DTLS starts).
    early_dtls: Vec<Vec<u8>>,
    /// The negotiated SRTP profile and DTLS version, once connected.
    pub(crate) srtp_profile: Option<SrtpProfile>,
    pub(crate) dtls_version: Option<&'static str>,
}

/// DTLS datagrams kept from before `connect` (a split ClientHello and a retransmission).
const MAX_EARLY_DTLS: usize = 4;

impl WebRtcState {
    pub(crate) fn new(setup: WebRtcTransportSetup) -> Self {
        let ice = IceServer::new(
            setup.ice_parameters.username_fragment.clone(),
            setup.ice_parameters.password.clone(),
        )
        .with_timeouts(
            Duration::from_secs(u64::from(setup.ice_consent_timeout)),
            DEFAULT_CLOSE_GRACE,
        );
        Self {
            setup,
            ice,
            dtls_state: DtlsState::New,
            remote_dtls: None,
            dtls_role: DtlsRole::Auto,
            srtp_in: None,
            srtp_out: None,
            tuple_sockets: Vec::new(),
            dtls: None,
            early_dtls: Vec::new(),
            srtp_profile: None,
            dtls_version: None,
        }
    }

    /// Whether `connect` came and DTLS waits for a clock reading to start.
    pub(crate) fn dtls_start_due(&self) -> bool {
        self.dtls.is_none()
            && self.remote_dtls.is_some()
            && self.dtls_state == DtlsState::Connecting
    }

    /// The socket a tuple is reached on.
    fn socket_of(&self, remote: SocketAddr) -> SocketRef {
        self.tuple_sockets
            .iter()
            .find_map(|&(tuple, socket)| (tuple == remote).then_some(socket))
            .unwrap_or(self.setup.socket)
    }

    /// Remembers the socket of a tuple that just passed a check (bounded like the ICE server's tuples).
    fn note_tuple_socket(&mut self, remote: SocketAddr, socket: SocketRef) {
        self.tuple_sockets
            .retain(|&(tuple, _)| tuple != remote && self.ice.is_valid_tuple(tuple));
        self.tuple_sockets.push((remote, socket));
    }

    /// Where media and RTCP go, and how they are protected: the selected tuple, once SRTP keys exist.
    pub(crate) fn media_path(&mut self) -> Option<(SocketRef, SocketAddr, &mut SrtpSession)> {
        let destination = self.ice.selected_tuple()?;
        let socket = self.socket_of(destination);
        let srtp = self.srtp_out.as_mut()?;
        Some((socket, destination, srtp))
    }

    /// The selected tuple as the API shows it.
    pub(crate) fn selected_tuple(&self) -> Option<TransportTuple> {
        let remote = self.ice.selected_tuple()?;
        let protocol = if self.socket_of(remote) == self.setup.socket {
            Protocol::Udp
        } else {
            Protocol::Tcp
        };
        let local = self
            .setup
            .ice_candidates
            .iter()
            .find(|c| c.protocol == protocol)?;
        Some(TransportTuple {
            local_address: local.address.clone(),
            local_ip: local.ip.clone(),
            local_port: local.port,
            remote_ip: Some(remote.ip()),
            remote_port: Some(remote.port()),
            protocol,
        })
    }
}

impl Transport {
    pub(crate) fn webrtc_mut(&mut self) -> Option<&mut WebRtcState> {
        match &mut self.kind {
            TransportKind::WebRtc(state) => Some(state),
            TransportKind::Plain(_) | TransportKind::Direct(_) => None,
        }
    }
}

impl Router {
    /// True when `remote` passed an ICE check of this WebRTC transport: the runtime then routes that
    /// remote address on a shared port to it.
    pub fn is_valid_ice_tuple(&self, transport_id: TransportId, remote: SocketAddr) -> bool {
        match self.transports.get(&transport_id).map(|t| &t.kind) {
            Some(TransportKind::WebRtc(state)) => state.ice.is_valid_tuple(remote),
            _ => false,
        }
    }

    /// First steps of a datagram on a WebRTC transport: STUN is answered here; DTLS, RTP and RTCP must come
    /// from an ICE-validated tuple, and RTP/RTCP must decrypt. Returns what the router does next.
    pub(super) fn accept_webrtc_datagram(
        &mut self,
        now: Instant,
        transport_id: TransportId,
        socket: SocketRef,
        from: SocketAddr,
        data: &mut [u8],
        out: &mut Outbox,
    ) -> Option<Accepted> {
        let transport = self.transports.get_mut(&transport_id)?;
        let TransportKind::WebRtc(state) = &mut transport.kind else {
            return None;
        };
        let stats = &mut transport.stats;
        stats.packets_received += 1;
        stats.bytes_received += data.len() as u64;
        let kind = classify(data);
        if kind == PacketKind::Stun {
            let mut response = [0u8; MAX_RESPONSE_LEN];
            let outcome = state.ice.handle_stun(now, from, data, &mut response);
            match outcome {
                IceOutcome::Responded { len } | IceOutcome::SelectedTupleChanged { len, .. } => {
                    state.note_tuple_socket(from, socket);
                    out.push(socket, from, |buf| {
                        buf[..len].copy_from_slice(&response[..len]);
                        len
                    });
                    stats.packets_sent += 1;
                    stats.bytes_sent += len as u64;
                }
                IceOutcome::Rejected { len, .. } => {
                    out.push(socket, from, |buf| {
                        buf[..len].copy_from_slice(&response[..len]);
                        len
                    });
                    stats.packets_sent += 1;
                    stats.bytes_sent += len as u64;
                }
                IceOutcome::Dropped(_) => {}
            }
            if matches!(
                outcome,
                IceOutcome::Rejected { .. } | IceOutcome::Dropped(_)
            ) {
                stats.dropped_ice_failure += 1;
                stats.packets_dropped += 1;
            }
            let owner = transport.owner.clone();
            self.drain_ice_events(transport_id, &owner);
            return None;
        }
        if !state.ice.is_valid_tuple(from) {
            stats.dropped_unexpected_source += 1;
            stats.packets_dropped += 1;
            return None;
        }
        match kind {
            PacketKind::Rtp | PacketKind::Rtcp => {
                let unprotected = match &mut state.srtp_in {
                    Some(srtp) if kind == PacketKind::Rtp => srtp.unprotect_rtp(data),
                    Some(srtp) => srtp.unprotect_rtcp(data),
                    None => Err(crate::srtp::SrtpError::AuthenticationFailed),
                };
                match unprotected {
                    Ok(len) if kind == PacketKind::Rtp => Some(Accepted::Rtp(len)),
                    Ok(len) => Some(Accepted::Rtcp(len)),
                    Err(_) => {
                        stats.dropped_srtp_failure += 1;
                        stats.packets_dropped += 1;
                        None
                    }
                }
            }
            PacketKind::Dtls => {
                if state.dtls_start_due() {
                    self.start_dtls(now, transport_id);
                }
                let state = self
                    .transports
                    .get_mut(&transport_id)
                    .and_then(Transport::webrtc_mut)?;
                match &mut state.dtls {
                    Some(dtls) => dtls.handle_datagram(now, data),
                    None if state.early_dtls.len() < MAX_EARLY_DTLS => {
                        state.early_dtls.push(data.to_vec());
                    }
                    None => {}
                }
                self.drive_dtls(now, transport_id, out);
                None
            }
            _ => {
                stats.dropped_unsupported += 1;
                stats.packets_dropped += 1;
                None
            }
        }
    }

    /// Starts DTLS in the role `connect` left us, replaying what arrived before.
    fn start_dtls(&mut self, now: Instant, transport_id: TransportId) {
        let Some(transport) = self.transports.get_mut(&transport_id) else {
            return;
        };
        let owner = transport.owner.clone();
        let Some(state) = transport.webrtc_mut() else {
            return;
        };
        let Some(remote) = &state.remote_dtls else {
            return;
        };
        let role = match state.dtls_role {
            DtlsRole::Client => crate::dtls::DtlsRole::Client,
            DtlsRole::Server | DtlsRole::Auto => crate::dtls::DtlsRole::Server,
        };
        let config = DtlsConfig::new(state.setup.certificate.clone(), remote.fingerprints.clone());
        match DtlsTransport::new(config, role, now) {
            Ok(mut dtls) => {
                for datagram in state.early_dtls.drain(..) {
                    dtls.handle_datagram(now, &datagram);
                }
                state.dtls = Some(dtls);
            }
            Err(_) => {
                state.dtls_state = DtlsState::Failed;
                self.events
                    .push_back(RouterEvent::TransportDtlsStateChanged {
                        broadcaster_id: owner.clone(),
                        transport_id,
                        dtls_state: DtlsState::Failed,
                    });
                self.close_webrtc_transport(transport_id, &owner, CloseReason::DtlsFailed);
            }
        }
    }

    /// Sends what DTLS wants sent and acts on what it reports; application data is SCTP.
    pub(super) fn drive_dtls(&mut self, now: Instant, transport_id: TransportId, out: &mut Outbox) {
        let Some(transport) = self.transports.get_mut(&transport_id) else {
            return;
        };
        let owner = transport.owner.clone();
        let TransportKind::WebRtc(state) = &mut transport.kind else {
            return;
        };
        let Some(dtls) = &mut state.dtls else {
            return;
        };
        // Nothing can be sent before ICE selected a tuple; the handshake's own timers resend later.
        if let Some(destination) = state.ice.selected_tuple() {
            let socket = state
                .tuple_sockets
                .iter()
                .find_map(|&(tuple, socket)| (tuple == destination).then_some(socket))
                .unwrap_or(state.setup.socket);
            while let Some(datagram) = dtls.poll_transmit() {
                let len = datagram.len().min(crate::net::TRANSMIT_CAPACITY);
                out.push(socket, destination, |buf| {
                    buf[..len].copy_from_slice(&datagram[..len]);
                    len
                });
                transport.stats.packets_sent += 1;
                transport.stats.bytes_sent += len as u64;
            }
        }
        let mut new_state = None;
        let mut failed = false;
        let mut sctp_packets = Vec::new();
        while let Some(event) = dtls.poll_event() {
            match event {
                DtlsEvent::Connecting => new_state = Some(DtlsState::Connecting),
                DtlsEvent::Connected {
                    profile,
                    keying_material,
                    ..
                } => {
                    let we_are_client = dtls.role() == crate::dtls::DtlsRole::Client;
                    let sessions = split_dtls_srtp_keying_material(
                        keying_material.as_bytes(),
                        profile,
                        we_are_client,
                    )
                    .and_then(
                        |((local_key, local_salt), (remote_key, remote_salt))| {
                            let options = SrtpSessionOptions::default();
                            Ok((
                                SrtpSession::with_options(profile, local_key, local_salt, options)?,
                                SrtpSession::with_options(
                                    profile,
                                    remote_key,
                                    remote_salt,
                                    options,
                                )?,
                            ))
                        },
                    );
                    match sessions {
                        Ok((outbound, inbound)) => {
                            state.srtp_out = Some(outbound);
                            state.srtp_in = Some(inbound);
                            state.srtp_profile = Some(profile);
                            state.dtls_version = dtls.protocol_version();
                            new_state = Some(DtlsState::Connected);
                        }
                        Err(_) => {
                            new_state = Some(DtlsState::Failed);
                            failed = true;
                        }
                    }
                }
                DtlsEvent::Failed(_) => {
                    new_state = Some(DtlsState::Failed);
                    failed = true;
                }
                DtlsEvent::ApplicationData(packet) if transport.sctp.is_some() => {
                    sctp_packets.push(packet);
                }
                // Application data on a transport without SCTP: nothing can use it.
                DtlsEvent::ApplicationData(_) => transport.stats.dropped_unsupported += 1,
                DtlsEvent::Closed => new_state = Some(DtlsState::Closed),
            }
        }
        if let Some(dtls_state) = new_state
            && dtls_state != state.dtls_state
        {
            state.dtls_state = dtls_state;
            self.events
                .push_back(RouterEvent::TransportDtlsStateChanged {
                    broadcaster_id: owner.clone(),
                    transport_id,
                    dtls_state,
                });
        }
        if failed {
            self.close_webrtc_transport(transport_id, &owner, CloseReason::DtlsFailed);
            return;
        }
        for packet in sctp_packets {
            self.handle_sctp_packet(now, transport_id, &packet, out);
        }
    }

    /// Closes a WebRTC transport from its packet path (its owner learns `transport.closed` with the reason).
    fn close_webrtc_transport(
        &mut self,
        transport_id: TransportId,
        owner: &crate::ids::BroadcasterId,
        reason: CloseReason,
    ) {
        if let Some(b) = self.broadcasters.get_mut(owner) {
            b.transports.remove(&transport_id);
        }
        self.close_transport_inner(transport_id, reason);
    }

    /// Turns a WebRTC transport's ICE state changes into router events; consent that stays lost closes the
    /// transport (the peer is gone: its objects must not linger).
    fn drain_ice_events(&mut self, transport_id: TransportId, owner: &crate::ids::BroadcasterId) {
        let Some(state) = self
            .transports
            .get_mut(&transport_id)
            .and_then(Transport::webrtc_mut)
        else {
            return;
        };
        let mut closed = false;
        while let Some(event) = state.ice.poll_event() {
            match event {
                IceEvent::StateChanged(ice_state) => {
                    closed |= ice_state == IceState::Closed;
                    self.events
                        .push_back(RouterEvent::TransportIceStateChanged {
                            broadcaster_id: owner.clone(),
                            transport_id,
                            ice_state,
                        });
                }
                IceEvent::SelectedTupleChanged(_) => {
                    if let Some(tuple) = state.selected_tuple() {
                        self.events.push_back(RouterEvent::TransportTuple {
                            broadcaster_id: owner.clone(),
                            transport_id,
                            tuple,
                        });
                    }
                }
            }
        }
        if closed {
            self.close_webrtc_transport(transport_id, owner, CloseReason::IceClosed);
        }
    }

    /// A path to a WebRTC transport's peer is gone (the runtime closed an ICE-TCP connection): its tuples
    /// stop being valid, and ICE moves to another tuple or disconnects.
    pub fn handle_path_closed(
        &mut self,
        now: Instant,
        transport_id: TransportId,
        socket: SocketRef,
    ) {
        let Some(transport) = self.transports.get_mut(&transport_id) else {
            return;
        };
        let owner = transport.owner.clone();
        let Some(state) = transport.webrtc_mut() else {
            return;
        };
        let gone: Vec<SocketAddr> = state
            .tuple_sockets
            .iter()
            .filter_map(|&(tuple, s)| (s == socket).then_some(tuple))
            .collect();
        for tuple in gone {
            state.ice.remove_tuple(now, tuple);
        }
        state.tuple_sockets.retain(|&(_, s)| s != socket);
        self.drain_ice_events(transport_id, &owner);
    }

    /// The earliest WebRTC link timer (ICE consent, DTLS retransmission and deadline, DTLS start).
    pub(super) fn webrtc_poll_timeout(&self) -> Option<Instant> {
        self.transports
            .values()
            .filter_map(|t| match &t.kind {
                TransportKind::WebRtc(state) => {
                    let start = state.dtls_start_due().then_some(self.last_now).flatten();
                    let dtls = state.dtls.as_ref().and_then(DtlsTransport::poll_timeout);
                    [state.ice.poll_timeout(), dtls, start]
                        .into_iter()
                        .flatten()
                        .min()
                }
                TransportKind::Plain(_) | TransportKind::Direct(_) => None,
            })
            .min()
    }

    /// Runs the WebRTC link timers that are due.
    pub(super) fn webrtc_handle_timeout(&mut self, now: Instant, out: &mut Outbox) {
        let due: Vec<_> = self
            .transports
            .iter()
            .filter_map(|(id, t)| match &t.kind {
                TransportKind::WebRtc(state) => {
                    let ice = state.ice.poll_timeout().is_some_and(|at| at <= now);
                    let dtls = state
                        .dtls
                        .as_ref()
                        .and_then(DtlsTransport::poll_timeout)
                        .is_some_and(|at| at <= now);
                    (ice || dtls || state.dtls_start_due()).then(|| (*id, t.owner.clone()))
                }
                TransportKind::Plain(_) | TransportKind::Direct(_) => None,
            })
            .collect();
        for (id, owner) in due {
            let Some(state) = self.transports.get_mut(&id).and_then(Transport::webrtc_mut) else {
                continue;
            };
            state.ice.handle_timeout(now);
            if state.dtls_start_due() {
                self.start_dtls(now, id);
            } else if let Some(dtls) = &mut state.dtls {
                dtls.handle_timeout(now);
            }
            self.drive_dtls(now, id, out);
            self.drain_ice_events(id, &owner);
        }
    }
}
