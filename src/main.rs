//! The `mediagate` binary: configuration, telemetry, bind, run — nothing else.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroUsize;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// A selective forwarding unit driven over HTTP.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// HTTP listen address.
    #[arg(long, env = "MEDIAGATE_LISTEN", default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Address RTC (media) sockets bind to.
    #[arg(long, env = "MEDIAGATE_RTC_IP", default_value = "127.0.0.1")]
    rtc_ip: IpAddr,
    /// Address announced to clients in candidates and tuples (NAT, containers).
    #[arg(long, env = "MEDIAGATE_ANNOUNCED_ADDRESS")]
    announced_address: Option<String>,
    /// RTC port range, `MIN-MAX`.
    #[arg(long, env = "MEDIAGATE_RTC_PORTS", default_value = "40000-49999", value_parser = parse_port_range)]
    rtc_ports: RangeInclusive<u16>,
    /// First port of the workers' shared WebRTC ports (worker N listens on this + N); default: a port of the
    /// RTC range each.
    #[arg(long, env = "MEDIAGATE_WEBRTC_PORT")]
    webrtc_port: Option<u16>,
    /// Worker threads (default: one per core).
    #[arg(long, env = "MEDIAGATE_WORKERS")]
    workers: Option<usize>,
    /// Open transports one worker holds at most (at least 1; there is no "unlimited"); creating one more
    /// answers 503 with Retry-After until one closes.
    #[arg(long, env = "MEDIAGATE_MAX_TRANSPORTS_PER_WORKER", default_value_t = mediagate::DEFAULT_MAX_TRANSPORTS_PER_WORKER, value_parser = parse_max_transports)]
    max_transports_per_worker: NonZeroUsize,
    /// Log filter (tracing `EnvFilter` syntax), e.g. `info` or `mediagate=debug`.
    #[arg(long, env = "MEDIAGATE_LOG", default_value = "info")]
    log: String,
    /// Answer 404 for unknown rooms instead of creating them on first use.
    #[arg(long, env = "MEDIAGATE_NO_AUTO_CREATE_ROOMS")]
    no_auto_create_rooms: bool,
    /// DTLS certificate (PEM); a fresh one is generated when absent.
    #[arg(
        long,
        env = "MEDIAGATE_DTLS_CERTIFICATE",
        requires = "dtls_private_key"
    )]
    dtls_certificate: Option<PathBuf>,
    /// DTLS private key (PEM).
    #[arg(
        long,
        env = "MEDIAGATE_DTLS_PRIVATE_KEY",
        requires = "dtls_certificate"
    )]
    dtls_private_key: Option<PathBuf>,
}

fn parse_port_range(value: &str) -> Result<RangeInclusive<u16>, String> {
    let (min, max) = value
        .split_once('-')
        .ok_or_else(|| format!("expected MIN-MAX, got {value:?}"))?;
    let min: u16 = min
        .trim()
        .parse()
        .map_err(|e| format!("bad minimum port: {e}"))?;
    let max: u16 = max
        .trim()
        .parse()
        .map_err(|e| format!("bad maximum port: {e}"))?;
    if min == 0 || min > max {
        return Err(format!("need 1 <= MIN <= MAX, got {min}-{max}"));
    }
    Ok(min..=max)
}

fn parse_max_transports(value: &str) -> Result<NonZeroUsize, String> {
    let limit: usize = value
        .trim()
        .parse()
        .map_err(|e| format!("expected a number of transports: {e}"))?;
    NonZeroUsize::new(limit).ok_or_else(|| {
        format!(
            "must be at least 1 (0 would refuse every transport; there is no \"unlimited\", the default is {})",
            mediagate::DEFAULT_MAX_TRANSPORTS_PER_WORKER
        )
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let filter = match EnvFilter::try_new(&args.log) {
        Ok(filter) => filter,
        Err(e) => {
            eprintln!("mediagate: bad --log filter {:?}: {e}", args.log);
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt().with_env_filter(filter).init();

    let defaults = mediagate::Config::default();
    let config = mediagate::Config {
        rtc_ip: args.rtc_ip,
        announced_address: args.announced_address,
        rtc_ports: args.rtc_ports,
        webrtc_port: args.webrtc_port,
        workers: args.workers.unwrap_or(defaults.workers),
        max_transports_per_worker: args.max_transports_per_worker,
        auto_create_rooms: !args.no_auto_create_rooms,
        dtls_certificate: args.dtls_certificate.zip(args.dtls_private_key),
        ..defaults
    };
    let control = match mediagate::start(&config) {
        Ok(control) => control,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!(error = %e, listen = %args.listen, "cannot bind the HTTP listener");
            control.shutdown();
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        listen = %args.listen,
        workers = config.workers,
        max_transports_per_worker = config.max_transports_per_worker,
        rtc_ip = %config.rtc_ip,
        rtc_ports = ?config.rtc_ports,
        fingerprint = %control.certificate().fingerprint.value,
        "mediagate listening"
    );
    match mediagate::serve(listener, control, shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_transports_per_worker_defaults_to_5000_and_refuses_zero() {
        let args = Args::try_parse_from(["mediagate"]).expect("no flags parse");
        assert_eq!(args.max_transports_per_worker.get(), 5000);
        let args = Args::try_parse_from(["mediagate", "--max-transports-per-worker", "2"])
            .expect("a positive limit parses");
        assert_eq!(args.max_transports_per_worker.get(), 2);
        for bad in ["0", "-1", "many", ""] {
            let flag = format!("--max-transports-per-worker={bad}");
            let error = Args::try_parse_from(["mediagate", flag.as_str()])
                .expect_err(bad)
                .to_string();
            assert!(
                error.contains("--max-transports-per-worker"),
                "{bad:?}: {error}"
            );
        }
        let zero = parse_max_transports("0").expect_err("0 is refused");
        assert!(zero.contains("at least 1"), "{zero}");
    }
}
