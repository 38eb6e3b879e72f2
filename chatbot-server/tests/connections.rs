//! The connection edge over real TCP, against the `chatbot-server` binary run as a child
//! process under a low open-files limit (`ulimit -n`) with a short header deadline: connections
//! that never send a byte, HTTP/2 prefaces that then go silent, and headers dripped a byte at a
//! time are each closed (by the deadline, or to make room at the connection cap) while
//! `/healthz` keeps answering; an HTTP/2 peer that stops answering pings is dropped; running out
//! of file descriptors is survived with a bounded number of log lines.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Generous bound for "closed": the deadline is 2 s; the machine may be busy.
const CLOSED_WITHIN: Duration = Duration::from_secs(20);

/// The server binary in a child process; killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Start under `ulimit -n nofile` with the given environment; wait for "listening".
    fn start(nofile: u32, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(r#"ulimit -n "$0" && exec "$@""#)
            .arg(nofile.to_string())
            .arg(env!("CARGO_BIN_EXE_chatbot-server"))
            .args(["--bind", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env("CHATBOT_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .env_remove("OPENAI_API_KEY")
            .env_remove("PINECONE_API_KEY")
            .env_remove("DATABASE_URL")
            .env_remove("CHATBOT_ADMIN_TOKEN")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("the server binary starts");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("\"listening\"") {
                    let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
                    let _ = tx.send(v["addr"].as_str().unwrap_or_default().to_string());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("the server did not say where it listens: {:?}", log.lock().unwrap()));
        Self { child, addr: addr.parse().unwrap(), log, _dir: dir }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn log_lines(&self, needle: &str) -> usize {
        self.log.lock().unwrap().iter().filter(|l| l.contains(needle)).count()
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client that opens a new connection for every request.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
}

async fn healthz_ok(http: &reqwest::Client, s: &Server) {
    let r = http.get(s.url("/healthz")).send().await.expect("/healthz answers");
    assert_eq!(r.status(), 200);
}

/// The value of one sample of `/metrics`.
async fn metric(http: &reqwest::Client, s: &Server, name: &str) -> f64 {
    let text = http.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
        .trim()
        .parse()
        .unwrap()
}

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
    let mut f = vec![len[1], len[2], len[3], kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// The HTTP/2 preface and an empty SETTINGS frame.
fn h2_hello() -> Vec<u8> {
    let mut b = H2_PREFACE.to_vec();
    b.extend(h2_frame(4, 0, 0, &[]));
    b
}

/// `GET /healthz` on stream 1 (HPACK: indexed `:method GET`, `:scheme http`, literal `:path` and
/// `:authority`), END_STREAM | END_HEADERS.
fn h2_get_healthz() -> Vec<u8> {
    let mut block = vec![0x82, 0x86, 0x44, 8];
    block.extend_from_slice(b"/healthz");
    block.extend_from_slice(&[0x41, 9]);
    block.extend_from_slice(b"127.0.0.1");
    h2_frame(1, 0x05, 1, &block)
}

/// Frames (type, flags, stream, payload) in `bytes` (a trailing partial frame is ignored).
fn h2_frames(mut bytes: &[u8]) -> Vec<(u8, u8, u32, Vec<u8>)> {
    let mut out = Vec::new();
    while bytes.len() >= 9 {
        let len = usize::from(bytes[0]) << 16 | usize::from(bytes[1]) << 8 | usize::from(bytes[2]);
        if bytes.len() < 9 + len {
            break;
        }
        let stream = u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]) & 0x7fff_ffff;
        out.push((bytes[3], bytes[4], stream, bytes[9..9 + len].to_vec()));
        bytes = &bytes[9 + len..];
    }
    out
}

/// Read (and keep) whatever the server sends until it closes the connection; `None` if it is
/// still open after [`CLOSED_WITHIN`]. With `drip`, a header byte is written every 200 ms
/// meanwhile (a write error also means closed).
async fn until_closed(mut s: TcpStream, drip: bool) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let run = async {
        let mut buf = [0u8; 4096];
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tokio::select! {
                r = s.read(&mut buf) => match r {
                    Ok(0) | Err(_) => return,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                },
                _ = tick.tick(), if drip => {
                    if s.write_all(b"a").await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    tokio::time::timeout(CLOSED_WITHIN, run).await.ok().map(|()| got)
}

async fn connect(s: &Server) -> TcpStream {
    TcpStream::connect(s.addr).await.expect("the listener accepts")
}

/// Open `silent` sockets that send nothing, `h2` that send the HTTP/2 preface and SETTINGS,
/// `drip` that start a request head and never finish it; return a task per socket that
/// resolves to whether the server closed it.
async fn bad_connections(
    s: &Server,
    silent: usize,
    h2: usize,
    drip: usize,
) -> Vec<tokio::task::JoinHandle<bool>> {
    let mut tasks = Vec::new();
    for _ in 0..silent {
        let c = connect(s).await;
        tasks.push(tokio::spawn(async move { until_closed(c, false).await.is_some() }));
    }
    for _ in 0..h2 {
        let mut c = connect(s).await;
        c.write_all(&h2_hello()).await.unwrap();
        tasks.push(tokio::spawn(async move { until_closed(c, false).await.is_some() }));
    }
    for _ in 0..drip {
        let mut c = connect(s).await;
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").await.unwrap();
        tasks.push(tokio::spawn(async move { until_closed(c, true).await.is_some() }));
    }
    tasks
}

async fn all_closed(tasks: Vec<tokio::task::JoinHandle<bool>>) -> usize {
    let mut open = 0;
    for t in tasks {
        if !t.await.unwrap() {
            open += 1;
        }
    }
    open
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_connections_are_closed_and_healthz_keeps_answering_under_a_low_open_files_limit() {
    // 128 open files: a derived cap of 64 connections, 64 descriptors kept for the database
    let mut s =
        Server::start(128, &[("CHATBOT_HEADER_TIMEOUT_SECS", "2"), ("CHATBOT_HTTP2_KEEPALIVE_SECS", "1")]);
    let http = client();
    healthz_ok(&http, &s).await;
    assert_eq!(s.log_lines("\"max_connections\":64"), 1, "the cap derives from the limit");

    // 1. below the cap: every kind of bad connection is closed by the header deadline
    let tasks = bad_connections(&s, 20, 10, 10).await;
    for _ in 0..5 {
        healthz_ok(&http, &s).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(all_closed(tasks).await, 0, "silent, HTTP/2-preface and slow-drip connections are closed");
    // The 30 silent and slow-drip connections can only be closed by the header deadline; an
    // HTTP/2 peer that sent its preface may instead be dropped by the 1 s keep-alive ping first.
    let deadline = metric(&http, &s, "chatbot_http_refusals_total{reason=\"header_deadline\"}").await;
    assert!((30.0..=40.0).contains(&deadline), "header-deadline closes: {deadline}");
    assert_eq!(metric(&http, &s, "chatbot_http_refusals_total{reason=\"silent_evicted\"}").await, 0.0);

    // 2. a flood far beyond the cap: silent connections make room, /healthz answers throughout
    let tasks = bad_connections(&s, 300, 30, 20).await;
    for _ in 0..10 {
        healthz_ok(&http, &s).await;
    }
    assert_eq!(all_closed(tasks).await, 0, "every connection of the flood is closed");
    healthz_ok(&http, &s).await;
    let evicted = metric(&http, &s, "chatbot_http_refusals_total{reason=\"silent_evicted\"}").await;
    assert!(evicted >= 250.0, "{evicted} silent connections made room");
    assert_eq!(metric(&http, &s, "chatbot_http_refusals_total{reason=\"connection_cap\"}").await, 0.0);

    // 3. HTTP/2: a peer that made a request and then stops answering pings is dropped
    let mut c = connect(&s).await;
    let mut hello = h2_hello();
    hello.extend(h2_get_healthz());
    c.write_all(&hello).await.unwrap();
    let got = until_closed(c, false).await.expect("a peer that ignores pings is dropped");
    let frames = h2_frames(&got);
    assert!(
        frames.iter().any(|(kind, _, stream, p)| *kind == 1 && *stream == 1 && p.first() == Some(&0x88)),
        "the request was answered 200 first: {frames:?}"
    );
    assert!(frames.iter().any(|(kind, flags, _, _)| *kind == 6 && flags & 1 == 0), "the server pinged");

    assert!(s.alive());
    assert_eq!(s.log_lines("accept failed"), 0, "{:?}", s.log.lock().unwrap());
    let open = metric(&http, &s, "chatbot_http_connections_open").await;
    assert!(open <= 2.0, "{open} connections still open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn running_out_of_file_descriptors_is_survived_with_few_log_lines() {
    // a cap above what 64 open files allow: accepts fail with EMFILE, the server makes room by
    // closing silent connections, backs off, and logs the failures at a bounded rate
    let mut s =
        Server::start(64, &[("CHATBOT_HEADER_TIMEOUT_SECS", "2"), ("CHATBOT_MAX_CONNECTIONS", "1000")]);
    let http = client();
    healthz_ok(&http, &s).await;
    let tasks = bad_connections(&s, 150, 0, 0).await;
    for _ in 0..5 {
        healthz_ok(&http, &s).await;
    }
    assert_eq!(all_closed(tasks).await, 0);
    healthz_ok(&http, &s).await;
    assert!(s.alive());
    let errors = metric(&http, &s, "chatbot_http_accept_errors_total").await;
    let lines = s.log_lines("accept failed");
    assert!(errors >= 1.0, "the limit was reached ({errors} accept errors)");
    assert!((1..=4).contains(&lines), "{lines} log lines for {errors} accept errors");
}
