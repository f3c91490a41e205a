//! A WebRTC transport's network state and the first steps of its packet path: ICE-lite checks (RFC 8445 §2.5,
//! RFC 7675 consent), the source check that lets only ICE-validated tuples through, and the events its state
//! changes raise (`iceState`, selected tuple).
//!
//! Owns: the transport's [`IceServer`] and its link state. Must not: route RTP (the router does, once a
//! datagram is accepted here) or know sockets beyond the [`SocketRef`] it answers on.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::media::Accepted;
use super::transport::{Transport, TransportKind, WebRtcTransportSetup};
use super::{CloseReason, Router, RouterEvent};
use crate::ice::{DEFAULT_CLOSE_GRACE, IceEvent, IceOutcome, IceServer, MAX_RESPONSE_LEN};
use crate::ids::TransportId;
use crate::net::{Outbox, PacketKind, SocketRef, classify};
use crate::srtp::SrtpSession;
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
}

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
        }
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
            TransportKind::Plain(_) => None,
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
        let owner = transport.owner.clone();
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
            _ => {
                stats.dropped_unsupported += 1;
                stats.packets_dropped += 1;
                None
            }
        }
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
            if let Some(b) = self.broadcasters.get_mut(owner) {
                b.transports.remove(&transport_id);
            }
            self.close_transport_inner(transport_id, CloseReason::IceClosed);
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

    /// The earliest WebRTC link timer (ICE consent).
    pub(super) fn webrtc_poll_timeout(&self) -> Option<Instant> {
        self.transports
            .values()
            .filter_map(|t| match &t.kind {
                TransportKind::WebRtc(state) => state.ice.poll_timeout(),
                TransportKind::Plain(_) => None,
            })
            .min()
    }

    /// Runs the WebRTC link timers that are due.
    pub(super) fn webrtc_handle_timeout(&mut self, now: Instant, _out: &mut Outbox) {
        let due: Vec<_> = self
            .transports
            .iter()
            .filter_map(|(id, t)| match &t.kind {
                TransportKind::WebRtc(state)
                    if state.ice.poll_timeout().is_some_and(|at| at <= now) =>
                {
                    Some((*id, t.owner.clone()))
                }
                _ => None,
            })
            .collect();
        for (id, owner) in due {
            if let Some(state) = self.transports.get_mut(&id).and_then(Transport::webrtc_mut) {
                state.ice.handle_timeout(now);
            }
            self.drain_ice_events(id, &owner);
        }
    }
}
