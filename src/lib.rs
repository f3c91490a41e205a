//! mediagate: a selective forwarding unit (SFU) modelled on mediasoup v3, driven entirely over HTTP — a
//! REST resource tree plus Server-Sent Events.
//!
//! Layers point down only: [`runtime`] (threads, sockets) ← [`control`] (the async façade) ← [`api`] and
//! [`events`] ← `main`. The media engine is the `mediagate-engine` crate (sans-IO).

pub mod api;
pub mod control;
pub mod events;
pub mod runtime;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroUsize;
use std::ops::RangeInclusive;
use std::path::PathBuf;

use mediagate_engine::ortc;

use crate::control::{Certificate, Control, ControlConfig};
use crate::events::{EventHub, EventHubConfig};
use crate::runtime::{Runtime, RuntimeConfig};

/// Default of [`Config::max_transports_per_worker`]: far above what one core forwards for real peers, so it
/// only stops runaway creation.
pub const DEFAULT_MAX_TRANSPORTS_PER_WORKER: NonZeroUsize = NonZeroUsize::new(5000).unwrap();

/// Everything the server is configured with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address RTC sockets bind to.
    pub rtc_ip: IpAddr,
    /// Address announced to clients instead of `rtc_ip`.
    pub announced_address: Option<String>,
    /// Port range of RTC sockets.
    pub rtc_ports: RangeInclusive<u16>,
    /// First port of the workers' shared WebRTC ports (worker N uses this + N); `None`: one from the range.
    pub webrtc_port: Option<u16>,
    /// Worker threads.
    pub workers: usize,
    /// Open transports (WebRTC, plain and direct, over all its rooms) one worker holds at most; creating one
    /// more answers 503 with `Retry-After` until one closes. Non-zero: there is no "unlimited".
    pub max_transports_per_worker: NonZeroUsize,
    /// Create rooms on first use.
    pub auto_create_rooms: bool,
    /// DTLS certificate and key (PEM); generated when absent.
    pub dtls_certificate: Option<(PathBuf, PathBuf)>,
    /// Event streams' replay buffers and keep-alive.
    pub events: EventHubConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            rtc_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            announced_address: None,
            rtc_ports: 40000..=49999,
            webrtc_port: None,
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_transports_per_worker: DEFAULT_MAX_TRANSPORTS_PER_WORKER,
            auto_create_rooms: true,
            dtls_certificate: None,
            events: EventHubConfig::default(),
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The DTLS certificate could not be made or read.
    #[error(transparent)]
    Certificate(#[from] control::CertificateError),
    /// The default media codecs are not routable (a bug: they are mediasoup-demo's).
    #[error("default media codecs: {0}")]
    Codecs(mediagate_engine::ortc::OrtcError),
    /// Worker threads could not be started.
    #[error("cannot start the workers: {0}")]
    Runtime(std::io::Error),
    /// The HTTP server failed.
    #[error("http server: {0}")]
    Http(std::io::Error),
}

/// Starts the workers and the control plane. Must be called inside a tokio runtime (it spawns the task
/// that publishes the workers' notifications).
pub fn start(config: &Config) -> Result<Control, StartError> {
    let certificate = match &config.dtls_certificate {
        Some((cert, key)) => Certificate::load(cert, key)?,
        None => Certificate::generate()?,
    };
    let default_rtp_capabilities =
        ortc::generate_router_rtp_capabilities(&ortc::default_media_codecs())
            .map_err(StartError::Codecs)?;
    let (notifier, notifications) = tokio::sync::mpsc::unbounded_channel();
    let runtime = Runtime::start(
        RuntimeConfig {
            workers: config.workers,
            rtc_ip: config.rtc_ip,
            rtc_ports: config.rtc_ports.clone(),
            webrtc_port: config.webrtc_port,
            max_transports_per_worker: config.max_transports_per_worker,
        },
        notifier,
    )
    .map_err(StartError::Runtime)?;
    let control = Control::new(
        ControlConfig {
            rtc_ip: config.rtc_ip,
            announced_address: config.announced_address.clone(),
            auto_create_rooms: config.auto_create_rooms,
            default_rtp_capabilities,
        },
        runtime,
        certificate,
        EventHub::new(config.events.clone()),
    );
    control.spawn_notifications(notifications);
    Ok(control)
}

/// Serves the API on `listener` until `shutdown` resolves, then ends every event stream, lets in-flight
/// requests finish, and stops the workers (closing their sockets). The one entry point of `main`, tests
/// and examples.
pub async fn serve(
    listener: tokio::net::TcpListener,
    control: Control,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let app = api::router(control.clone());
    let hub = control.events().clone();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Open SSE responses never finish by themselves: end them so the graceful shutdown can.
            hub.shutdown();
        })
        .await
        .map_err(StartError::Http);
    let stopping = control.clone();
    // Joining worker threads blocks: keep it off the async executor.
    let _ = tokio::task::spawn_blocking(move || stopping.shutdown()).await;
    result
}
