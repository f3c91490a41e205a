//! The control plane: the async façade that HTTP handlers, examples and tests drive.
//!
//! Owns: the id index (which room, hence which worker, holds an object), room placement on the
//! least-loaded worker, credentials and the DTLS certificate, and the translation of room events into the
//! event streams. Must not: touch sockets or routers directly (it sends commands to the runtime), or know
//! HTTP. Ids are minted here and registered before the command that creates the object is sent, so a close
//! racing with a create never leaves a stale index entry.

mod certificate;
mod error;
mod publish;
mod whep;
mod whip;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine as _;
use mediagate_engine::ids::{
    BroadcasterId, ConsumerId, DataConsumerId, DataProducerId, ProducerId, RoomId, TransportId,
};
use mediagate_engine::ortc;
use mediagate_engine::router::{
    BroadcasterInfo, BroadcasterOptions, ConnectParameters, ConsumerInfo, ConsumerLayers,
    ConsumerOptions, ConsumerStatsReport, DataConsumerInfo, DataConsumerOptions, DataConsumerStats,
    DataProducerInfo, DataProducerOptions, DataProducerStats, Device, DirectTransportOptions,
    DirectTransportSetup, NotFound, PeerInfo, PlainTransportOptions, PlainTransportSetup,
    ProducerInfo, ProducerOptions, ProducerStats, PublishOutcome, Router, RouterCounts,
    RouterEvent, RouterInfo, TransportInfo, TransportOptions, TransportSetup, TransportStats,
    WebRtcTransportOptions, WebRtcTransportSetup,
};
use mediagate_engine::rtp_parameters::{RtpCapabilities, RtpCodecCapability, RtpHeaderExtension};
use mediagate_engine::sctp_parameters::{NumSctpStreams, SctpCapabilities, SctpParameters};
use mediagate_engine::transport_parameters::{
    DtlsParameters, DtlsRole, IceCandidate, IceCandidateType, IceParameters, Protocol,
    SrtpParameters, TransportTuple,
};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::events::EventHub;
use crate::runtime::{Runtime, Worker, WorkerHandle};

pub use certificate::{Certificate, CertificateError};
pub use error::{
    AccessError, ConnectTransportError, ConsumerSdpAccessError, CreateConsumerError,
    CreateDataConsumerError, CreateDataProducerError, CreateProducerError, CreateRoomError,
    CreateTransportError, JoinError, NegotiateTransportError, RestartIceTransportError,
    SendDataMessageError,
};
pub use whep::{WhepPlayError, WhepPlayed, WhepSelection, WhepSessionState};
pub use whip::{
    SessionKind, WhipEndError, WhipPatchError, WhipPatched, WhipPublishError, WhipPublished,
    WhipSessionId,
};

/// Control-plane settings.
#[derive(Debug, Clone)]
pub struct ControlConfig {
    /// Address RTC sockets bind to.
    pub rtc_ip: IpAddr,
    /// Address announced to clients instead of `rtc_ip` (NAT, containers).
    pub announced_address: Option<String>,
    /// Create rooms on first use (the mediasoup-demo behaviour).
    pub auto_create_rooms: bool,
    /// Capabilities of rooms created without `mediaCodecs` (generated, and so validated, at start).
    pub default_rtp_capabilities: RtpCapabilities,
}

/// A room as the API shows it. The router's capabilities sit at top level (`codecs`,
/// `headerExtensions`), so the body can be passed to mediasoup-client's `Device.load` as the demo does.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomInfo {
    /// Router state.
    #[serde(flatten)]
    pub router: RouterInfo,
    /// Router codecs.
    pub codecs: Vec<RtpCodecCapability>,
    /// Router header extensions.
    pub header_extensions: Vec<RtpHeaderExtension>,
    /// Worker the room runs on.
    pub worker: usize,
}

/// Creation input of a room (`PUT /rooms/{roomId}`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomOptions {
    /// Codecs the room routes; the server's defaults when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_codecs: Option<Vec<RtpCodecCapability>>,
}

/// Creation input of a broadcaster (`POST /rooms/{roomId}/broadcasters`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BroadcasterRequest {
    /// Its id; generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<BroadcasterId>,
    /// Name shown to other peers.
    #[serde(default = "default_display_name")]
    pub display_name: String,
    /// What it runs on.
    #[serde(default = "default_device")]
    pub device: Device,
    /// What it can receive; consumers default to these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtp_capabilities: Option<RtpCapabilities>,
    /// Its SCTP stack's stream counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sctp_capabilities: Option<SctpCapabilities>,
}

fn default_display_name() -> String {
    "Broadcaster".to_owned()
}

fn default_device() -> Device {
    Device {
        flag: None,
        name: "Unknown".to_owned(),
        version: None,
    }
}

/// A new broadcaster and the peers already in the room (the mediasoup-demo `peers` list: their producers
/// that the broadcaster can consume, empty without `rtpCapabilities`).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JoinInfo {
    /// The broadcaster.
    #[serde(flatten)]
    pub broadcaster: BroadcasterInfo,
    /// Other peers.
    pub peers: Vec<PeerInfo>,
}

/// Health and object counts (`GET /health`).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthInfo {
    /// `ok`.
    pub status: String,
    /// Worker threads.
    pub workers: usize,
    /// Rooms.
    pub rooms: usize,
    /// Objects in every room.
    pub objects: RouterCounts,
    /// UDP sockets held by the workers for transports (shared WebRTC ports not included).
    pub sockets: usize,
    /// Open WHIP and WHEP sessions.
    pub sessions: usize,
    /// Each worker's shared WebRTC port.
    pub webrtc_ports: Vec<WebRtcPortInfo>,
}

/// A worker's shared WebRTC port: where it listens, what its demux index holds, what it could not route.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebRtcPortInfo {
    /// Worker index.
    pub worker: usize,
    /// Local address.
    #[schema(value_type = String)]
    pub ip: IpAddr,
    /// Local port (UDP).
    pub port: u16,
    /// Registered local ICE username fragments.
    pub ice_username_fragments: usize,
    /// Remote tuples validated by ICE.
    pub tuples: usize,
    /// Datagrams read.
    pub datagrams_received: u64,
    /// Dropped: STUN naming no local ICE username fragment.
    pub dropped_unknown_ufrag: u64,
    /// Dropped: not STUN, from a remote address no ICE check validated.
    pub dropped_unknown_tuple: u64,
    /// Dropped: longer than the receive buffer.
    pub dropped_truncated: u64,
}

#[derive(Debug, Default)]
struct Index {
    /// Room → index of the worker that owns it.
    rooms: HashMap<RoomId, usize>,
    /// Transport, producer, consumer, data producer and data consumer ids → room.
    objects: HashMap<Uuid, RoomId>,
}

#[derive(Debug)]
struct Inner {
    config: ControlConfig,
    runtime: Runtime,
    certificate: Certificate,
    index: Mutex<Index>,
    whip: Mutex<whip::WhipSessions>,
    events: EventHub,
}

/// The control façade. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Control {
    inner: Arc<Inner>,
}

impl Control {
    /// A façade over a started runtime.
    pub fn new(
        config: ControlConfig,
        runtime: Runtime,
        certificate: Certificate,
        events: EventHub,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                runtime,
                certificate,
                index: Mutex::new(Index::default()),
                whip: Mutex::new(whip::WhipSessions::default()),
                events,
            }),
        }
    }

    /// Publishes, until the workers stop, the events their packet path reports (tuples latched, scores).
    pub fn spawn_notifications(
        &self,
        mut notifications: tokio::sync::mpsc::UnboundedReceiver<(RoomId, Vec<RouterEvent>)>,
    ) {
        let control = self.clone();
        tokio::spawn(async move {
            while let Some((room, events)) = notifications.recv().await {
                control.publish(&room, events);
            }
        });
    }

    /// The event hub rooms publish into.
    pub fn events(&self) -> &EventHub {
        &self.inner.events
    }

    /// The DTLS certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.inner.certificate
    }

    /// Stops the workers (their sockets close).
    pub fn shutdown(&self) {
        self.inner.runtime.shutdown();
    }

    fn index(&self) -> MutexGuard<'_, Index> {
        // The index holds plain maps; a panic elsewhere cannot leave it half-updated in a harmful way.
        self.inner.index.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn announced_address(&self) -> String {
        self.inner
            .config
            .announced_address
            .clone()
            .unwrap_or_else(|| self.inner.config.rtc_ip.to_string())
    }

    // ---- plumbing ----

    fn worker_of(&self, room: &RoomId) -> Result<&WorkerHandle, AccessError> {
        let index = self
            .index()
            .rooms
            .get(room)
            .copied()
            .ok_or_else(|| AccessError::RoomNotFound(room.clone()))?;
        Ok(self.inner.runtime.worker(index))
    }

    fn room_of(&self, id: Uuid, missing: NotFound) -> Result<RoomId, AccessError> {
        self.index()
            .objects
            .get(&id)
            .cloned()
            .ok_or(AccessError::NotFound(missing))
    }

    /// Runs `f` on the worker that owns `room`; `f` returns `None` when the room is not there, and the room
    /// events it caused, which are published before this returns.
    async fn on_worker<R: Send + 'static>(
        &self,
        room: &RoomId,
        f: impl FnOnce(&mut Worker, &RoomId) -> Option<(R, Vec<RouterEvent>)> + Send + 'static,
    ) -> Result<R, AccessError> {
        let worker = self.worker_of(room)?;
        let target = room.clone();
        let (result, events) = worker
            .call(move |w| f(w, &target))
            .await?
            .ok_or_else(|| AccessError::RoomNotFound(room.clone()))?;
        self.publish(room, events);
        Ok(result)
    }

    /// Refuses early when the room's worker holds its limit of open transports, so a WHIP or WHEP session that
    /// could not open its transport never joins (the room sees nothing). Creating the transport checks again.
    pub(super) async fn ensure_transport_slot(
        &self,
        room: &RoomId,
    ) -> Result<(), CreateTransportError> {
        let full = self
            .on_worker(room, |w, room| {
                w.room(room)?;
                let full = (!w.has_transport_slot()).then(|| (w.index(), w.max_transports().get()));
                Some((full, Vec::new()))
            })
            .await?;
        match full {
            Some((worker, limit)) => Err(CreateTransportError::WorkerFull { worker, limit }),
            None => Ok(()),
        }
    }

    /// Runs `f` on a room's router.
    async fn on_room<R: Send + 'static>(
        &self,
        room: &RoomId,
        f: impl FnOnce(&mut Router) -> R + Send + 'static,
    ) -> Result<R, AccessError> {
        self.on_worker(room, move |w, room| w.with_room(room, f))
            .await
    }

    /// Runs `f` on the router of the room that holds object `id`.
    async fn on_object<R: Send + 'static>(
        &self,
        id: Uuid,
        missing: NotFound,
        f: impl FnOnce(&mut Router) -> R + Send + 'static,
    ) -> Result<R, AccessError> {
        let room = self.room_of(id, missing)?;
        self.on_room(&room, f).await
    }

    /// Registers a freshly minted id before the command that creates its object is sent.
    fn reserve(&self, id: Uuid, room: &RoomId) {
        self.index().objects.insert(id, room.clone());
    }

    fn release(&self, id: Uuid) {
        self.index().objects.remove(&id);
    }

    /// Runs a creation on the room that holds `parent`, registering `id` first and forgetting it if the
    /// creation fails.
    async fn create_on_object<R: Send + 'static, E: From<AccessError> + Send + 'static>(
        &self,
        id: Uuid,
        parent: Uuid,
        missing: NotFound,
        f: impl FnOnce(&mut Router) -> Result<R, E> + Send + 'static,
    ) -> Result<R, E> {
        let room = self.room_of(parent, missing)?;
        self.reserve(id, &room);
        let result = self.on_room(&room, f).await;
        match result {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => {
                self.release(id);
                Err(e)
            }
            Err(e) => {
                self.release(id);
                Err(e.into())
            }
        }
    }

    // ---- health ----

    /// Liveness and object counts over every worker.
    pub async fn health(&self) -> Result<HealthInfo, AccessError> {
        let mut objects = RouterCounts::default();
        let mut sockets = 0;
        let mut rooms = 0;
        let mut webrtc_ports = Vec::new();
        for worker in self.inner.runtime.workers() {
            let index = worker.index();
            let (counts, socket_count, room_count, shared) = worker
                .call(|w| {
                    let mut counts = RouterCounts::default();
                    for router in w.rooms() {
                        counts += router.counts();
                    }
                    let shared = w.shared_port_info();
                    (counts, w.socket_count(), w.rooms().count(), shared)
                })
                .await?;
            objects += counts;
            sockets += socket_count;
            rooms += room_count;
            webrtc_ports.extend(shared.map(|p| WebRtcPortInfo {
                worker: index,
                ip: p.local.ip(),
                port: p.local.port(),
                ice_username_fragments: p.ufrags,
                tuples: p.tuples,
                datagrams_received: p.stats.datagrams_received,
                dropped_unknown_ufrag: p.stats.dropped_unknown_ufrag,
                dropped_unknown_tuple: p.stats.dropped_unknown_tuple,
                dropped_truncated: p.stats.dropped_truncated,
            }));
        }
        Ok(HealthInfo {
            status: "ok".to_owned(),
            workers: self.inner.runtime.workers().len(),
            rooms,
            objects,
            sockets,
            sessions: self.whip_sessions().len(),
            webrtc_ports,
        })
    }

    // ---- rooms ----

    /// Every room, ordered by id.
    pub async fn rooms(&self) -> Result<Vec<RoomInfo>, AccessError> {
        let mut ids: Vec<RoomId> = self.index().rooms.keys().cloned().collect();
        ids.sort();
        let mut rooms = Vec::with_capacity(ids.len());
        for id in ids {
            match self.room(&id).await {
                Ok(room) => rooms.push(room),
                // Closed since the listing was taken.
                Err(AccessError::RoomNotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(rooms)
    }

    /// Creates a room, or returns the existing one when it has the same codecs. The flag says whether
    /// it was created.
    pub async fn create_room(
        &self,
        id: &RoomId,
        options: RoomOptions,
    ) -> Result<(RoomInfo, bool), CreateRoomError> {
        let explicit = options.media_codecs.is_some();
        let capabilities = match &options.media_codecs {
            Some(media_codecs) => ortc::generate_router_rtp_capabilities(media_codecs)
                .map_err(|e| e.prefixed("mediaCodecs"))?,
            None => self.inner.config.default_rtp_capabilities.clone(),
        };
        let created = self.insert_room(id, capabilities.clone());
        let room = self.room(id).await?;
        if !created
            && explicit
            && (room.codecs != capabilities.codecs
                || room.header_extensions != capabilities.header_extensions)
        {
            return Err(CreateRoomError::Conflict(id.clone()));
        }
        Ok((room, created))
    }

    /// Places a room on the least-loaded worker unless it exists; true when it was created.
    fn insert_room(&self, id: &RoomId, capabilities: RtpCapabilities) -> bool {
        let mut index = self.index();
        if index.rooms.contains_key(id) {
            return false;
        }
        let worker = self.inner.runtime.least_loaded();
        worker.assign_room();
        index.rooms.insert(id.clone(), worker.index());
        let router = Router::new(id.clone(), capabilities, rand::random());
        // Sent under the index lock: any later command for this room queues behind the creation.
        let sent = worker.send_detached(move |w| w.insert_room(router));
        drop(index);
        if sent.is_err() {
            tracing::error!(room = %id, "worker gone while creating a room");
        } else {
            tracing::info!(room = %id, worker = worker.index(), "room created");
        }
        true
    }

    /// Makes sure a room exists, creating it with the default codecs when rooms are created on first use.
    pub async fn ensure_room(&self, id: &RoomId) -> Result<(), AccessError> {
        if self.index().rooms.contains_key(id) {
            return Ok(());
        }
        if !self.inner.config.auto_create_rooms {
            return Err(AccessError::RoomNotFound(id.clone()));
        }
        self.insert_room(id, self.inner.config.default_rtp_capabilities.clone());
        Ok(())
    }

    /// A room.
    pub async fn room(&self, id: &RoomId) -> Result<RoomInfo, AccessError> {
        let worker = self.worker_of(id)?.index();
        self.on_room(id, move |router| RoomInfo {
            router: router.info(),
            codecs: router.rtp_capabilities().codecs.clone(),
            header_extensions: router.rtp_capabilities().header_extensions.clone(),
            worker,
        })
        .await
    }

    /// A room's RTP capabilities.
    pub async fn rtp_capabilities(&self, id: &RoomId) -> Result<RtpCapabilities, AccessError> {
        self.on_room(id, |router| router.rtp_capabilities().clone())
            .await
    }

    /// Closes a room and everything in it.
    pub async fn close_room(&self, id: &RoomId) -> Result<(), AccessError> {
        let worker = self.worker_of(id)?;
        let target = id.clone();
        let events = worker
            .call(move |w| w.remove_room(&target))
            .await?
            .ok_or_else(|| AccessError::RoomNotFound(id.clone()))?;
        self.publish(id, events);
        self.inner.events.publish_room(
            id,
            crate::events::Event::RoomClosed(crate::events::RoomClosed {
                room_id: id.clone(),
                reason: mediagate_engine::router::CloseReason::Request,
            }),
        );
        {
            let mut index = self.index();
            if index.rooms.remove(id).is_some() {
                worker.unassign_room();
            }
            index.objects.retain(|_, room| room != id);
        }
        self.inner.events.remove_room(id);
        tracing::info!(room = %id, "room closed");
        Ok(())
    }

    // ---- broadcasters ----

    /// Adds a broadcaster to a room.
    pub async fn join(
        &self,
        room: &RoomId,
        request: BroadcasterRequest,
    ) -> Result<JoinInfo, JoinError> {
        let BroadcasterRequest {
            id,
            display_name,
            device,
            mut rtp_capabilities,
            sctp_capabilities,
        } = request;
        if let Some(caps) = rtp_capabilities.as_mut() {
            ortc::validate_rtp_capabilities(caps).map_err(|e| e.prefixed("rtpCapabilities"))?;
        }
        if let Some(caps) = &sctp_capabilities {
            ortc::validate_sctp_capabilities(caps).map_err(|e| e.prefixed("sctpCapabilities"))?;
        }
        let id = id.unwrap_or_else(|| {
            Uuid::new_v4()
                .to_string()
                .parse()
                .expect("a uuid is a valid name")
        });
        let options = BroadcasterOptions {
            id,
            display_name,
            device,
            rtp_capabilities,
            sctp_capabilities,
        };
        let (broadcaster, peers) = self.on_room(room, move |r| r.join(options)).await??;
        Ok(JoinInfo { broadcaster, peers })
    }

    /// A room's broadcasters.
    pub async fn broadcasters(&self, room: &RoomId) -> Result<Vec<BroadcasterInfo>, AccessError> {
        self.on_room(room, |r| r.broadcasters()).await
    }

    /// A broadcaster.
    pub async fn broadcaster(
        &self,
        room: &RoomId,
        id: &BroadcasterId,
    ) -> Result<BroadcasterInfo, AccessError> {
        let id = id.clone();
        Ok(self.on_room(room, move |r| r.broadcaster(&id)).await??)
    }

    /// `transport`, if it belongs to that broadcaster of that room (the mediasoup-demo routes address
    /// transports under their owner).
    pub async fn broadcaster_transport(
        &self,
        room: &RoomId,
        broadcaster: &BroadcasterId,
        transport: TransportId,
    ) -> Result<TransportId, AccessError> {
        let owner = self.broadcaster(room, broadcaster).await?;
        if owner.transport_ids.contains(&transport) {
            Ok(transport)
        } else {
            Err(NotFound::Transport(transport).into())
        }
    }

    /// Removes a broadcaster and closes everything it owns.
    pub async fn leave(&self, room: &RoomId, id: &BroadcasterId) -> Result<(), AccessError> {
        self.leave_because(room, id, mediagate_engine::router::CloseReason::Request)
            .await
    }

    /// Removes a broadcaster for `reason` (reported in `broadcaster.left`).
    async fn leave_because(
        &self,
        room: &RoomId,
        id: &BroadcasterId,
        reason: mediagate_engine::router::CloseReason,
    ) -> Result<(), AccessError> {
        let id = id.clone();
        Ok(self.on_room(room, move |r| r.leave(&id, reason)).await??)
    }

    // ---- transports ----

    /// Opens a transport for a broadcaster: binds its sockets and returns its parameters.
    pub async fn create_transport(
        &self,
        room: &RoomId,
        broadcaster: &BroadcasterId,
        options: TransportOptions,
    ) -> Result<TransportInfo, CreateTransportError> {
        let setup = self.transport_setup(&options)?;
        let id = TransportId::new_random();
        let rtc_ip = self.inner.config.rtc_ip;
        let address = self.announced_address();
        let owner = broadcaster.clone();
        self.reserve(id.as_uuid(), room);
        let result = self
            .on_worker(room, move |w, room| {
                let outcome = bind_and_create(w, room, &owner, id, rtc_ip, &address, setup);
                match outcome {
                    None => None,
                    Some((Err(e), events)) => {
                        w.release_transport(id);
                        Some((Err(e), events))
                    }
                    Some(ok) => Some(ok),
                }
            })
            .await;
        let result = match result {
            Ok(r) => r,
            Err(e) => Err(e.into()),
        };
        match &result {
            Ok(_) => tracing::debug!(transport = %id, %room, "transport created"),
            Err(_) => self.release(id.as_uuid()),
        }
        result
    }

    /// Checks transport options and prepares what does not need sockets.
    fn transport_setup(
        &self,
        options: &TransportOptions,
    ) -> Result<PendingSetup, CreateTransportError> {
        let invalid = |field, message: &str| CreateTransportError::Invalid {
            field,
            message: message.to_owned(),
        };
        let sctp = |enable: bool, streams: NumSctpStreams, max_message_size: u32| {
            if !enable {
                return Ok(None);
            }
            if streams.os == 0 || streams.mis == 0 {
                return Err(invalid("numSctpStreams", "OS and MIS must be at least 1"));
            }
            if max_message_size == 0 {
                return Err(invalid("maxSctpMessageSize", "must be at least 1"));
            }
            Ok(Some(SctpParameters {
                port: 5000,
                os: streams.os,
                mis: streams.mis,
                max_message_size,
            }))
        };
        match options {
            TransportOptions::Plain(PlainTransportOptions {
                rtcp_mux,
                comedia,
                enable_sctp,
                num_sctp_streams,
                max_sctp_message_size,
                enable_srtp,
                srtp_crypto_suite,
            }) => Ok(PendingSetup::Plain {
                rtcp_mux: *rtcp_mux,
                comedia: *comedia,
                sctp_parameters: sctp(*enable_sctp, *num_sctp_streams, *max_sctp_message_size)?,
                srtp_parameters: enable_srtp.then(|| {
                    let mut key = vec![0u8; srtp_crypto_suite.key_length()];
                    rand::rng().fill(&mut key[..]);
                    SrtpParameters {
                        crypto_suite: *srtp_crypto_suite,
                        key_base64: base64::engine::general_purpose::STANDARD.encode(key),
                    }
                }),
            }),
            TransportOptions::Webrtc(WebRtcTransportOptions {
                enable_udp,
                enable_tcp,
                enable_sctp,
                num_sctp_streams,
                max_sctp_message_size,
                sctp_capabilities,
                ice_consent_timeout,
                dedicated_port,
            }) => {
                if !enable_udp && !enable_tcp {
                    return Err(invalid(
                        "enableUdp",
                        "at least one of enableUdp and enableTcp must be true",
                    ));
                }
                if *enable_tcp && *dedicated_port {
                    return Err(invalid(
                        "enableTcp",
                        "ICE-TCP is offered on the shared port only; drop dedicatedPort",
                    ));
                }
                if *ice_consent_timeout == 0 {
                    return Err(invalid("iceConsentTimeout", "must be at least 1 second"));
                }
                let (enable, streams) = match sctp_capabilities {
                    Some(caps) => (true, caps.num_streams),
                    None => (*enable_sctp, *num_sctp_streams),
                };
                Ok(PendingSetup::WebRtc {
                    ice_parameters: new_ice_parameters(),
                    dtls_parameters: DtlsParameters {
                        role: DtlsRole::Auto,
                        fingerprints: vec![self.inner.certificate.fingerprint.clone()],
                    },
                    sctp_parameters: sctp(enable, streams, *max_sctp_message_size)?,
                    ice_consent_timeout: *ice_consent_timeout,
                    dedicated_port: *dedicated_port,
                    enable_udp: *enable_udp,
                    enable_tcp: *enable_tcp,
                    certificate: self.inner.certificate.dtls.clone(),
                })
            }
            TransportOptions::Direct(DirectTransportOptions { max_message_size }) => {
                if *max_message_size == 0 {
                    return Err(invalid("maxMessageSize", "must be at least 1"));
                }
                Ok(PendingSetup::Direct(DirectTransportSetup {
                    max_message_size: *max_message_size,
                }))
            }
        }
    }

    /// A transport.
    pub async fn transport(&self, id: TransportId) -> Result<TransportInfo, AccessError> {
        Ok(self
            .on_object(id.as_uuid(), NotFound::Transport(id), move |r| {
                r.transport(id)
            })
            .await??)
    }

    /// A transport's counters.
    pub async fn transport_stats(&self, id: TransportId) -> Result<TransportStats, AccessError> {
        Ok(self
            .on_object(id.as_uuid(), NotFound::Transport(id), move |r| {
                r.transport_stats(id)
            })
            .await??)
    }

    /// Connects a transport to its remote side.
    pub async fn connect_transport(
        &self,
        id: TransportId,
        params: ConnectParameters,
    ) -> Result<TransportInfo, ConnectTransportError> {
        Ok(self
            .on_object(id.as_uuid(), NotFound::Transport(id), move |r| {
                r.connect_transport(id, params)
            })
            .await??)
    }

    /// New local ICE credentials for a WebRTC transport; its shared port routes checks with them.
    pub async fn restart_ice(
        &self,
        id: TransportId,
    ) -> Result<IceParameters, RestartIceTransportError> {
        let ice = new_ice_parameters();
        let room = self.room_of(id.as_uuid(), NotFound::Transport(id))?;
        Ok(self
            .on_worker(&room, move |w, room| {
                let ufrag = ice.username_fragment.clone();
                let outcome = w.with_room(room, |r| r.restart_ice(id, ice))?;
                if outcome.0.is_ok() {
                    w.register_ice_ufrag(room, id, &ufrag);
                }
                Some(outcome)
            })
            .await??)
    }

    /// The server's SDP offer of every consumer of a WebRTC transport.
    pub async fn transport_sdp_offer(
        &self,
        id: TransportId,
    ) -> Result<String, NegotiateTransportError> {
        Ok(self
            .on_object(id.as_uuid(), NotFound::Transport(id), move |r| {
                r.negotiation_offer(id)
            })
            .await??)
    }

    /// Answers a browser's publish offer on a WebRTC transport (its send sections become producers).
    pub async fn transport_sdp_publish(
        &self,
        id: TransportId,
        offer: String,
    ) -> Result<PublishOutcome, NegotiateTransportError> {
        let room = self.room_of(id.as_uuid(), NotFound::Transport(id))?;
        // One id per media section is always enough; they are registered before the producers exist.
        let sections = offer.lines().filter(|l| l.starts_with("m=")).count();
        let ids: Vec<ProducerId> = (0..sections.min(MAX_SDP_SECTIONS))
            .map(|_| ProducerId::new_random())
            .collect();
        for producer in &ids {
            self.reserve(producer.as_uuid(), &room);
        }
        let minted = ids.clone();
        let result = self
            .on_room(&room, move |r| {
                r.negotiate_publish(id, &offer, &mut ids.into_iter())
            })
            .await;
        let used: Vec<ProducerId> = match &result {
            Ok(Ok(outcome)) => outcome.producers.iter().map(|p| p.id).collect(),
            _ => Vec::new(),
        };
        for producer in minted.iter().filter(|p| !used.contains(p)) {
            self.release(producer.as_uuid());
        }
        Ok(result??)
    }

    /// Applies a browser's answer to the last offer of a WebRTC transport.
    pub async fn transport_sdp_answer(
        &self,
        id: TransportId,
        answer: String,
    ) -> Result<(), NegotiateTransportError> {
        Ok(self
            .on_object(id.as_uuid(), NotFound::Transport(id), move |r| {
                r.negotiation_answer(id, &answer)
            })
            .await??)
    }

    /// Closes a transport and everything on it.
    pub async fn close_transport(&self, id: TransportId) -> Result<(), AccessError> {
        Ok(self
            .on_object(id.as_uuid(), NotFound::Transport(id), move |r| {
                r.close_transport(id)
            })
            .await??)
    }

    // ---- producers ----

    /// Creates a producer on a transport.
    pub async fn produce(
        &self,
        transport: TransportId,
        options: ProducerOptions,
    ) -> Result<ProducerInfo, CreateProducerError> {
        let id = ProducerId::new_random();
        self.create_on_object(
            id.as_uuid(),
            transport.as_uuid(),
            NotFound::Transport(transport),
            move |r| r.produce(transport, id, options).map_err(Into::into),
        )
        .await
    }

    /// A producer.
    pub async fn producer(&self, id: ProducerId) -> Result<ProducerInfo, AccessError> {
        Ok(self
            .on_object(id.as_uuid(), NotFound::Producer(id), move |r| {
                r.producer(id)
            })
            .await??)
    }

    /// A producer's counters.
    pub async fn producer_stats(&self, id: ProducerId) -> Result<Vec<ProducerStats>, AccessError> {
        Ok(self
            .on_object(id.as_uuid(), NotFound::Producer(id), move |r| {
                r.producer_stats(id)
            })
            .await??)
    }

    /// Pauses or resumes a producer.
    pub async fn set_producer_paused(
        &self,
        id: ProducerId,
        paused: bool,
    ) -> Result<ProducerInfo, AccessError> {
        Ok(self
            .on_object(id.as_uuid(), NotFound::Producer(id), move |r| {
                r.set_producer_paused(id, paused)
            })
            .await??)
    }

    /// Closes a producer and its consumers.
    pub async fn close_producer(&self, id: ProducerId) -> Result<(), AccessError> {
        Ok(self
            .on_object(id.as_uuid(), NotFound::Producer(id), move |r| {
                r.close_producer(id)
            })
            .await??)
    }

    // ---- consumers ----

    /// Creates a consumer on a transport.
    pub async fn consume(
        &self,
        transport: TransportId,
        options: ConsumerOptions,
    ) -> Result<ConsumerInfo, CreateConsumerError> {
        let id = ConsumerId::new_random();
        self.create_on_object(
            id.as_uuid(),
            transport.as_uuid(),
            NotFound::Transport(transport),
            move |r| r.consume(transport, id, options).map_err(Into::into),
        )
        .await
    }

    /// A consumer.
    pub async fn consumer(&self, id: ConsumerId) -> Result<ConsumerInfo, AccessError> {
        Ok(self
            .on_object(id.as_uuid(), NotFound::Consumer(id), move |r| {
                r.consumer(id)
            })
            .await??)
    }

    /// The SDP a plain RTP receiver opens to receive a consumer's stream.
    pub async fn consumer_sdp(&self, id: ConsumerId) -> Result<String, ConsumerSdpAccessError> {
        Ok(self
            .on_object(id.as_uuid(), NotFound::Consumer(id), move |r| {
                r.consumer_sdp(id)
            })
            .await??)
    }

    /// A consumer's counters and its producer's.
    pub async fn consumer_stats(&self, id: ConsumerId) -> Result<ConsumerStatsReport, AccessError> {
        Ok(self
            .on_object(id.as_uuid(), NotFound::Consumer(id), move |r| {
                r.consumer_stats(id)
            })
            .await??)
    }

    /// Pauses or resumes a consumer.
    pub async fn set_consumer_paused(
        &self,
        id: ConsumerId,
        paused: bool,
    ) -> Result<ConsumerInfo, AccessError> {
        Ok(self
            .on_object(id.as_uuid(), NotFound::Consumer(id), move |r| {
                r.set_consumer_paused(id, paused)
            })
            .await??)
    }

    /// Sets a consumer's preferred layers.
    pub async fn set_consumer_preferred_layers(
        &self,
        id: ConsumerId,
        layers: ConsumerLayers,
    ) -> Result<ConsumerInfo, AccessError> {
        Ok(self
            .on_object(id.as_uuid(), NotFound::Consumer(id), move |r| {
                r.set_consumer_preferred_layers(id, layers)
            })
            .await??)
    }

    /// Sets a consumer's priority.
    pub async fn set_consumer_priority(
        &self,
        id: ConsumerId,
        priority: u8,
    ) -> Result<ConsumerInfo, AccessError> {
        Ok(self
            .on_object(id.as_uuid(), NotFound::Consumer(id), move |r| {
                r.set_consumer_priority(id, priority)
            })
            .await??)
    }

    /// Asks a consumer's producer for a keyframe.
    pub async fn request_key_frame(&self, id: ConsumerId) -> Result<(), AccessError> {
        Ok(self
            .on_object(id.as_uuid(), NotFound::Consumer(id), move |r| {
                r.request_consumer_key_frame(id)
            })
            .await??)
    }

    /// Closes a consumer.
    pub async fn close_consumer(&self, id: ConsumerId) -> Result<(), AccessError> {
        Ok(self
            .on_object(id.as_uuid(), NotFound::Consumer(id), move |r| {
                r.close_consumer(id)
            })
            .await??)
    }

    // ---- data producers and consumers ----

    /// Creates a data producer on a transport.
    pub async fn produce_data(
        &self,
        transport: TransportId,
        options: DataProducerOptions,
    ) -> Result<DataProducerInfo, CreateDataProducerError> {
        let id = DataProducerId::new_random();
        self.create_on_object(
            id.as_uuid(),
            transport.as_uuid(),
            NotFound::Transport(transport),
            move |r| r.produce_data(transport, id, options).map_err(Into::into),
        )
        .await
    }

    /// A data producer.
    pub async fn data_producer(&self, id: DataProducerId) -> Result<DataProducerInfo, AccessError> {
        Ok(self
            .on_object(id.as_uuid(), NotFound::DataProducer(id), move |r| {
                r.data_producer(id)
            })
            .await??)
    }

    /// Closes a data producer and its data consumers.
    pub async fn close_data_producer(&self, id: DataProducerId) -> Result<(), AccessError> {
        Ok(self
            .on_object(id.as_uuid(), NotFound::DataProducer(id), move |r| {
                r.close_data_producer(id)
            })
            .await??)
    }

    /// Pauses or resumes a data producer.
    pub async fn set_data_producer_paused(
        &self,
        id: DataProducerId,
        paused: bool,
    ) -> Result<DataProducerInfo, AccessError> {
        Ok(self
            .on_object(id.as_uuid(), NotFound::DataProducer(id), move |r| {
                r.set_data_producer_paused(id, paused)
            })
            .await??)
    }

    /// A data producer's counters.
    pub async fn data_producer_stats(
        &self,
        id: DataProducerId,
    ) -> Result<DataProducerStats, AccessError> {
        Ok(self
            .on_object(id.as_uuid(), NotFound::DataProducer(id), move |r| {
                r.data_producer_stats(id)
            })
            .await??)
    }

    /// Sends a message into the room through a direct data producer.
    pub async fn send_data_message(
        &self,
        id: DataProducerId,
        ppid: u32,
        data: bytes::Bytes,
    ) -> Result<(), SendDataMessageError> {
        let room = self.room_of(id.as_uuid(), NotFound::DataProducer(id))?;
        Ok(self
            .on_room(&room, move |r| {
                r.send_data_message(std::time::Instant::now(), id, ppid, &data)
            })
            .await??)
    }

    /// Creates a data consumer on a transport.
    pub async fn consume_data(
        &self,
        transport: TransportId,
        options: DataConsumerOptions,
    ) -> Result<DataConsumerInfo, CreateDataConsumerError> {
        let id = DataConsumerId::new_random();
        self.create_on_object(
            id.as_uuid(),
            transport.as_uuid(),
            NotFound::Transport(transport),
            move |r| r.consume_data(transport, id, options).map_err(Into::into),
        )
        .await
    }

    /// A data consumer.
    pub async fn data_consumer(&self, id: DataConsumerId) -> Result<DataConsumerInfo, AccessError> {
        Ok(self
            .on_object(id.as_uuid(), NotFound::DataConsumer(id), move |r| {
                r.data_consumer(id)
            })
            .await??)
    }

    /// Pauses or resumes a data consumer.
    pub async fn set_data_consumer_paused(
        &self,
        id: DataConsumerId,
        paused: bool,
    ) -> Result<DataConsumerInfo, AccessError> {
        Ok(self
            .on_object(id.as_uuid(), NotFound::DataConsumer(id), move |r| {
                r.set_data_consumer_paused(id, paused)
            })
            .await??)
    }

    /// A data consumer's counters.
    pub async fn data_consumer_stats(
        &self,
        id: DataConsumerId,
    ) -> Result<DataConsumerStats, AccessError> {
        Ok(self
            .on_object(id.as_uuid(), NotFound::DataConsumer(id), move |r| {
                r.data_consumer_stats(id)
            })
            .await??)
    }

    /// Closes a data consumer.
    pub async fn close_data_consumer(&self, id: DataConsumerId) -> Result<(), AccessError> {
        Ok(self
            .on_object(id.as_uuid(), NotFound::DataConsumer(id), move |r| {
                r.close_data_consumer(id)
            })
            .await??)
    }
}

/// Media sections of one SDP offer taken at most.
pub(super) const MAX_SDP_SECTIONS: usize = 64;

/// Transport setup made before any socket is bound.
enum PendingSetup {
    Plain {
        rtcp_mux: bool,
        comedia: bool,
        sctp_parameters: Option<SctpParameters>,
        srtp_parameters: Option<SrtpParameters>,
    },
    WebRtc {
        ice_parameters: IceParameters,
        dtls_parameters: DtlsParameters,
        sctp_parameters: Option<SctpParameters>,
        ice_consent_timeout: u8,
        dedicated_port: bool,
        enable_udp: bool,
        enable_tcp: bool,
        certificate: Arc<mediagate_engine::dtls::DtlsCertificate>,
    },
    /// No sockets.
    Direct(DirectTransportSetup),
}

/// On the worker thread: binds a transport's sockets and adds it to the room.
fn bind_and_create(
    w: &mut Worker,
    room: &RoomId,
    owner: &BroadcasterId,
    id: TransportId,
    rtc_ip: IpAddr,
    address: &str,
    setup: PendingSetup,
) -> Option<(
    Result<TransportInfo, CreateTransportError>,
    Vec<RouterEvent>,
)> {
    let router = w.room(room)?;
    if let Err(e) = router.broadcaster(owner) {
        return Some((Err(AccessError::NotFound(e).into()), Vec::new()));
    }
    // Checked here, on the worker thread, before any socket is bound: the count cannot change under it.
    if !w.has_transport_slot() {
        let e = CreateTransportError::WorkerFull {
            worker: w.index(),
            limit: w.max_transports().get(),
        };
        return Some((Err(e), Vec::new()));
    }
    let bind = |w: &mut Worker| {
        w.bind_udp(room, id, rtc_ip).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AddrInUse {
                CreateTransportError::NoPorts
            } else {
                CreateTransportError::Bind(e.to_string())
            }
        })
    };
    let tuple = |port: u16| TransportTuple {
        local_address: address.to_owned(),
        local_ip: address.to_owned(),
        local_port: port,
        remote_ip: None,
        remote_port: None,
        protocol: Protocol::Udp,
    };
    let setup = match setup {
        PendingSetup::Plain {
            rtcp_mux,
            comedia,
            sctp_parameters,
            srtp_parameters,
        } => {
            let rtp = match bind(w) {
                Ok(addr) => addr,
                Err(e) => return Some((Err(e), Vec::new())),
            };
            let rtcp = if rtcp_mux {
                None
            } else {
                match bind(w) {
                    Ok(addr) => Some(addr),
                    Err(e) => return Some((Err(e), Vec::new())),
                }
            };
            TransportSetup::Plain(PlainTransportSetup {
                tuple: tuple(rtp.0.port()),
                rtcp_tuple: rtcp.map(|(a, _)| tuple(a.port())),
                rtcp_mux,
                comedia,
                sctp_parameters,
                srtp_parameters,
                rtp_socket: rtp.1,
                rtcp_socket: rtcp.map(|(_, s)| s),
            })
        }
        PendingSetup::WebRtc {
            ice_parameters,
            dtls_parameters,
            sctp_parameters,
            ice_consent_timeout,
            dedicated_port,
            enable_udp,
            enable_tcp,
            certificate,
        } => {
            let local = if dedicated_port {
                match bind(w) {
                    Ok(addr) => addr,
                    Err(e) => return Some((Err(e), Vec::new())),
                }
            } else {
                match w.shared_udp() {
                    Some(shared) => shared,
                    None => {
                        let e = CreateTransportError::Bind("no shared webrtc port".to_owned());
                        return Some((Err(e), Vec::new()));
                    }
                }
            };
            let tcp_port = match (enable_tcp, w.shared_tcp()) {
                (false, _) => None,
                (true, Some(tcp)) => Some(tcp.port()),
                (true, None) => {
                    let e = CreateTransportError::Bind("no ice-tcp listener".to_owned());
                    return Some((Err(e), Vec::new()));
                }
            };
            w.register_ice_ufrag(room, id, &ice_parameters.username_fragment);
            let candidate = |index: u32, protocol: Protocol, port: u16| IceCandidate {
                foundation: match protocol {
                    Protocol::Udp => "udpcandidate",
                    Protocol::Tcp => "tcpcandidate",
                }
                .to_owned(),
                priority: ice_candidate_priority(index),
                ip: address.to_owned(),
                address: address.to_owned(),
                protocol,
                port,
                r#type: IceCandidateType::Host,
                tcp_type: (protocol == Protocol::Tcp).then_some(
                    mediagate_engine::transport_parameters::IceCandidateTcpType::Passive,
                ),
            };
            let mut ice_candidates = Vec::new();
            if enable_udp {
                ice_candidates.push(candidate(0, Protocol::Udp, local.0.port()));
            }
            if let Some(port) = tcp_port {
                let index = ice_candidates.len() as u32;
                ice_candidates.push(candidate(index, Protocol::Tcp, port));
            }
            TransportSetup::WebRtc(WebRtcTransportSetup {
                ice_parameters,
                ice_candidates,
                dtls_parameters,
                sctp_parameters,
                ice_consent_timeout,
                socket: local.1,
                certificate,
            })
        }
        PendingSetup::Direct(setup) => TransportSetup::Direct(setup),
    };
    let owner = owner.clone();
    w.with_room(room, move |r| {
        r.create_transport(&owner, id, setup)
            .map_err(|e| AccessError::NotFound(e).into())
    })
}

/// RFC 8445 §5.1.2.1 priority of the `index`-th host candidate: type preference 64, local preference
/// decreasing with the index, component 1 (mediasoup's formula).
fn ice_candidate_priority(index: u32) -> u32 {
    (1 << 24) * 64 + (1 << 8) * (10_000 - index.min(10_000)) + 255
}

/// Fresh ICE credentials from the operating system's generator: a 16-character username fragment and a
/// 32-character password (RFC 8445 §5.3 asks for at least 4 and 22).
fn new_ice_parameters() -> IceParameters {
    let token = |len: usize| -> String {
        rand::rng()
            .sample_iter(rand::distr::Alphanumeric)
            .take(len)
            .map(char::from)
            .collect()
    };
    IceParameters {
        username_fragment: token(16),
        password: token(32),
        ice_lite: true,
    }
}
