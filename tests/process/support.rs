//! Running the real `mediagate` binary: a free HTTP port, a small RTC port range per test, readiness by
//! polling `/health`, SIGTERM, and a minimal keep-alive HTTP/1.1 client over `std::net::TcpStream`.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Writes a measurement line to stderr past the test harness' output capture (which takes only the
/// `print!` family), so `cargo test` shows it for passing tests too.
pub fn report(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_mediagate");

/// How long a server may take to answer `/health` after it was spawned.
const STARTUP: Duration = Duration::from_secs(30);

/// A free TCP port on 127.0.0.1 (bound, then released for the server to take).
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// A running server process; killed on drop if still running, its log printed when the test failed.
pub struct Server {
    child: Child,
    /// HTTP address.
    pub addr: SocketAddr,
    log: PathBuf,
}

impl Server {
    /// Starts the binary with `--listen` on a free port, `--rtc-ports` as given, and `extra` flags.
    pub fn start(rtc_ports: &str, extra: &[&str]) -> Server {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut args = vec![
            "--listen",
            &listen,
            "--rtc-ports",
            rtc_ports,
            "--log",
            "warn",
        ];
        args.extend_from_slice(extra);
        Self::spawn(&args, SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    }

    /// Starts the binary with exactly `args`, expecting it to serve HTTP on `addr`, and waits for
    /// `/health`.
    pub fn spawn(args: &[&str], addr: SocketAddr) -> Server {
        let log = std::env::temp_dir().join(format!(
            "mediagate-process-{}-{}.log",
            std::process::id(),
            addr.port()
        ));
        let stderr = File::create(&log).expect("create log file");
        let child = Command::new(BIN)
            .args(args)
            .env_remove("MEDIAGATE_LISTEN")
            .env_remove("MEDIAGATE_RTC_PORTS")
            .env_remove("MEDIAGATE_RTC_IP")
            .env_remove("MEDIAGATE_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn mediagate");
        let mut server = Server { child, addr, log };
        server.wait_ready();
        server
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + STARTUP;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                panic!(
                    "mediagate exited during startup with {status}:\n{}",
                    self.log()
                );
            }
            if let Ok(mut client) = Client::connect(self.addr) {
                if let Ok(response) = client.request("GET", "/health", None) {
                    if response.status == 200 {
                        return;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "mediagate did not answer /health within {STARTUP:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A new keep-alive client.
    pub fn client(&self) -> Client {
        Client::connect(self.addr).expect("connect to mediagate")
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("sh")
            .args(["-c", "kill -TERM \"$1\"", "sh", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed: {status}");
    }

    /// Waits at most `limit` for the process to exit; `None` when it is still running.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then asserts a clean exit (status 0) within five seconds.
    pub fn stop(mut self) {
        self.terminate();
        let status = self.wait_exit(Duration::from_secs(5));
        match status {
            Some(status) => assert!(status.success(), "exit status {status}:\n{}", self.log()),
            None => panic!("mediagate still running 5 s after SIGTERM:\n{}", self.log()),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- mediagate log ({}) ---\n{}", self.addr, self.log());
        }
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

/// A response: status, lower-cased headers and the body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Asserts the status, showing the body otherwise.
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}",
            String::from_utf8_lossy(&self.body)
        );
        self
    }
}

/// A minimal HTTP/1.1 client holding one keep-alive connection.
pub struct Client {
    reader: BufReader<TcpStream>,
    host: String,
}

impl Client {
    /// Connects to `addr`.
    pub fn connect(addr: SocketAddr) -> std::io::Result<Client> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Client {
            reader: BufReader::new(stream),
            host: addr.to_string(),
        })
    }

    /// Sends a request (`body` as JSON) and reads the whole response.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> std::io::Result<Response> {
        self.request_typed(method, path, body.map(|b| ("application/json", b)))
    }

    /// Sends a request with an optional `(content type, body)` and reads the whole response.
    pub fn request_typed(
        &mut self,
        method: &str,
        path: &str,
        body: Option<(&str, &[u8])>,
    ) -> std::io::Result<Response> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {}\r\n", self.host);
        if let Some((content_type, body)) = body {
            head.push_str(&format!("content-type: {content_type}\r\n"));
            head.push_str(&format!("content-length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut message = head.into_bytes();
        message.extend_from_slice(body.map(|(_, b)| b).unwrap_or_default());
        self.reader.get_mut().write_all(&message)?;
        self.read_response()
    }

    fn read_response(&mut self) -> std::io::Result<Response> {
        let (status, headers) = read_head(&mut self.reader)?;
        let mut body = Vec::new();
        let length = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map(|(_, v)| v.parse::<usize>().map_err(invalid))
            .transpose()?;
        let chunked = headers
            .iter()
            .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
        if let Some(length) = length {
            body.resize(length, 0);
            self.reader.read_exact(&mut body)?;
        } else if chunked {
            while let Some(chunk) = read_chunk(&mut self.reader)? {
                body.extend_from_slice(&chunk);
            }
        } else if status != 204 && status != 304 {
            return Err(invalid(format!("status {status}: response without length")));
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    /// `GET path`.
    pub fn get(&mut self, path: &str) -> Response {
        self.request("GET", path, None)
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// `POST path` with a JSON body.
    pub fn post(&mut self, path: &str, body: &[u8]) -> Response {
        self.request("POST", path, Some(body))
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// `POST path` with a body of the given content type.
    pub fn post_typed(&mut self, path: &str, content_type: &str, body: &[u8]) -> Response {
        self.request_typed("POST", path, Some((content_type, body)))
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// `PUT path` without a body.
    pub fn put(&mut self, path: &str) -> Response {
        self.request("PUT", path, None)
            .unwrap_or_else(|e| panic!("PUT {path}: {e}"))
    }

    /// `DELETE path`.
    pub fn delete(&mut self, path: &str) -> Response {
        self.request("DELETE", path, None)
            .unwrap_or_else(|e| panic!("DELETE {path}: {e}"))
    }
}

/// Reads a status line and headers (names lower-cased).
pub fn read_head(reader: &mut impl BufRead) -> std::io::Result<(u16, Vec<(String, String)>)> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid(format!("bad status line {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            return Ok((status, headers));
        }
        let (name, value) = trimmed
            .split_once(':')
            .ok_or_else(|| invalid(format!("bad header {trimmed:?}")))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
}

/// Reads one chunk of a chunked body; `None` at the last (empty) chunk.
pub fn read_chunk(reader: &mut impl BufRead) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let size = line.trim_end().split(';').next().unwrap_or_default();
    let size = usize::from_str_radix(size.trim(), 16).map_err(invalid)?;
    if size == 0 {
        // Trailers, then the empty line.
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
                return Ok(None);
            }
        }
    }
    let mut chunk = vec![0; size + 2];
    reader.read_exact(&mut chunk)?;
    chunk.truncate(size);
    Ok(Some(chunk))
}

fn invalid(e: impl ToString) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())
}

/// An event stream (Server-Sent Events) read over its own connection.
pub struct EventStream {
    reader: BufReader<TcpStream>,
    text: String,
    what: String,
}

impl EventStream {
    /// Opens `path` (e.g. `/rooms/r/events`, with `?lastEventId=0` to start from the first buffered event).
    pub fn open(server: &Server, path: &str) -> EventStream {
        let stream = TcpStream::connect(server.addr).expect("connect");
        let mut reader = BufReader::new(stream);
        write!(
            reader.get_mut(),
            "GET {path} HTTP/1.1\r\nhost: {}\r\naccept: text/event-stream\r\n\r\n",
            server.addr
        )
        .expect("request events");
        let (status, _) = read_head(&mut reader).expect("events head");
        assert_eq!(status, 200, "events at {path}");
        EventStream {
            reader,
            text: String::new(),
            what: path.to_owned(),
        }
    }

    /// The next event's name and data, waiting until `deadline`.
    pub fn next_event(&mut self, deadline: Instant) -> (String, Value) {
        loop {
            while let Some(end) = self.text.find("\n\n") {
                let block: String = self.text.drain(..end + 2).collect();
                let field = |f: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(f))
                        .map(|v| v.trim().to_owned())
                };
                if let Some(name) = field("event:") {
                    let data = field("data:").unwrap_or_default();
                    let data: Value = serde_json::from_str(&data)
                        .unwrap_or_else(|e| panic!("{name} data is not JSON ({e}): {data}"));
                    return (name, data);
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "{}: no event in time", self.what);
            self.reader
                .get_ref()
                .set_read_timeout(Some(left))
                .expect("set read timeout");
            let chunk = read_chunk(&mut self.reader)
                .unwrap_or_else(|e| panic!("{}: waiting for an event: {e}", self.what))
                .unwrap_or_else(|| panic!("{}: the event stream ended", self.what));
            self.text
                .push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
        }
    }

    /// The data of the next `name` event for which `matches` holds, skipping others, until `deadline`.
    pub fn next(
        &mut self,
        name: &str,
        deadline: Instant,
        matches: impl Fn(&Value) -> bool,
    ) -> Value {
        loop {
            let (event, data) = self.next_event(deadline);
            if event == name && matches(&data) {
                return data;
            }
        }
    }
}
