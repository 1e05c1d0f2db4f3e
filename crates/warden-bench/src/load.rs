//! The HTTP load generator: a fixed number of keep-alive HTTP/1.1
//! connections, each sending its next request as soon as the last
//! answer's body has been read (closed loop), for a warm-up that is not
//! counted and then a fixed measured duration. It runs on one OS thread (a
//! current-thread tokio runtime) so that it takes at most one of the
//! machine's cores, as `wrk -t1` would.
//!
//! Like `wrk`, it writes each request's bytes itself and parses only the
//! answer's head (`httparse`, hyper's own parser), one task per
//! connection. hyper's client connection API cost about twice as much per
//! request: two tasks per connection and a request and response object
//! each. On these 2-core machines the generator shares the cores with the
//! server under test, so its cost is taken from every system's
//! throughput.
//!
//! Every answer's status is checked against what the scenario expects;
//! the first unexpected answer is kept for the report.

use axum::http::Method;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One request a scenario wants sent, and the status it must get.
pub struct Request {
    pub method: Method,
    pub path: String,
    pub body: Option<(&'static str, Bytes)>,
    pub token: Option<Arc<str>>,
    pub expect: u16,
}

/// Makes the next request; each connection has its own random stream.
pub type Generator = Arc<dyn Fn(&mut Rng) -> Request + Send + Sync>;

/// SplitMix64: small, fast, good enough to pick ids.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// What one measured run produced.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub requests: u64,
    pub seconds: f64,
    /// Sorted, microseconds.
    pub latencies_us: Vec<u32>,
    pub statuses: BTreeMap<u16, u64>,
    pub unexpected: u64,
    pub errors: u64,
    pub first_problem: Option<String>,
}

impl Outcome {
    pub fn rps(&self) -> f64 {
        if self.seconds > 0.0 {
            self.requests as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// Latency percentile in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * self.latencies_us.len() as f64).ceil() as usize;
        let index = rank.clamp(1, self.latencies_us.len()) - 1;
        f64::from(self.latencies_us[index]) / 1000.0
    }

    fn merge(&mut self, other: Outcome) {
        self.requests += other.requests;
        self.latencies_us.extend(other.latencies_us);
        for (status, n) in other.statuses {
            *self.statuses.entry(status).or_default() += n;
        }
        self.unexpected += other.unexpected;
        self.errors += other.errors;
        if self.first_problem.is_none() {
            self.first_problem = other.first_problem;
        }
    }
}

/// Drives `addr` with `connections` connections: `warmup` uncounted, then
/// `duration` counted. `at_measure_start` runs when counting begins (to
/// reset the server's peak-RSS mark).
pub fn drive(
    addr: SocketAddr,
    generator: Generator,
    connections: usize,
    warmup: Duration,
    duration: Duration,
    at_measure_start: Box<dyn FnOnce() + Send>,
) -> Outcome {
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a tokio runtime");
                runtime.block_on(async move {
                    let start = Instant::now();
                    let measure_from = start + warmup;
                    let end = measure_from + duration;
                    let mut tasks = Vec::new();
                    for n in 0..connections {
                        let generator = generator.clone();
                        tasks.push(tokio::spawn(connection(
                            addr,
                            generator,
                            Rng::new(0x5EED_0000 + n as u64 * 7919),
                            measure_from,
                            end,
                        )));
                    }
                    tokio::time::sleep_until(measure_from.into()).await;
                    at_measure_start();
                    let mut total = Outcome::default();
                    for task in tasks {
                        if let Ok(outcome) = task.await {
                            total.merge(outcome);
                        }
                    }
                    total.seconds = duration.as_secs_f64();
                    total.latencies_us.sort_unstable();
                    total
                })
            })
            .join()
            .unwrap_or_default()
    })
}

async fn connection(
    addr: SocketAddr,
    generator: Generator,
    mut rng: Rng,
    measure_from: Instant,
    end: Instant,
) -> Outcome {
    let mut outcome = Outcome::default();
    let host = addr.to_string();
    let mut wire = Vec::with_capacity(1024);
    let mut buffer = Buffer::default();
    'connect: while Instant::now() < end {
        let mut stream = match TcpStream::connect(addr).await {
            Ok(stream) => stream,
            Err(e) => {
                note(
                    &mut outcome,
                    Instant::now() >= measure_from,
                    format!("connect: {e}"),
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        buffer.clear();
        while Instant::now() < end {
            let request = generator(&mut rng);
            let expect = request.expect;
            encode(&request, &host, &mut wire);
            let sent = Instant::now();
            let result = match stream.write_all(&wire).await {
                Ok(()) => read_answer(&mut stream, &mut buffer).await,
                Err(e) => Err(format!("request failed: {e}")),
            };
            let counted = sent >= measure_from;
            let answer = match result {
                Ok(answer) => answer,
                Err(problem) => {
                    note(&mut outcome, counted, problem);
                    continue 'connect;
                }
            };
            let done = Instant::now();
            if counted && done <= end {
                outcome.requests += 1;
                let micros = done.duration_since(sent).as_micros();
                outcome
                    .latencies_us
                    .push(u32::try_from(micros).unwrap_or(u32::MAX));
                *outcome.statuses.entry(answer.status).or_default() += 1;
                if answer.status != expect {
                    outcome.unexpected += 1;
                    if outcome.first_problem.is_none() {
                        let body = buffer.body(&answer);
                        let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
                        outcome.first_problem = Some(format!(
                            "status {}, expected {expect}: {text}",
                            answer.status
                        ));
                    }
                }
            }
            buffer.consume(&answer);
            if answer.close {
                continue 'connect;
            }
        }
    }
    outcome
}

fn note(outcome: &mut Outcome, counted: bool, problem: String) {
    if counted {
        outcome.errors += 1;
    }
    if outcome.first_problem.is_none() {
        outcome.first_problem = Some(problem);
    }
}

/// Writes `request` as HTTP/1.1 bytes into `wire` (cleared first).
fn encode(request: &Request, host: &str, wire: &mut Vec<u8>) {
    wire.clear();
    // Writing into a Vec cannot fail.
    let _ = write!(
        wire,
        "{} {} HTTP/1.1\r\nhost: {host}\r\n",
        request.method, request.path
    );
    if let Some(token) = &request.token {
        let _ = write!(wire, "authorization: Bearer {token}\r\n");
    }
    match &request.body {
        Some((content_type, body)) => {
            let _ = write!(
                wire,
                "content-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            wire.extend_from_slice(body);
        }
        None => wire.extend_from_slice(b"\r\n"),
    }
}

/// Where one answer lies in the connection's buffer.
struct Answer {
    status: u16,
    /// Bytes of the head, then the body's bytes (de-chunked in place).
    head: usize,
    body: usize,
    /// The server will close the connection after this answer.
    close: bool,
}

/// Bytes read from one connection and not yet consumed.
#[derive(Default)]
struct Buffer {
    bytes: Vec<u8>,
}

impl Buffer {
    fn clear(&mut self) {
        self.bytes.clear();
    }

    fn body(&self, answer: &Answer) -> &[u8] {
        &self.bytes[answer.head..answer.head + answer.body]
    }

    fn consume(&mut self, answer: &Answer) {
        self.bytes.drain(..answer.head + answer.body);
    }

    /// Reads more bytes; an error if the server closed the connection.
    async fn fill(&mut self, stream: &mut TcpStream) -> Result<(), String> {
        // `read_buf` reads into the spare capacity, without zeroing it.
        self.bytes.reserve(16 * 1024);
        match stream.read_buf(&mut self.bytes).await {
            Ok(0) => Err("the server closed the connection".to_owned()),
            Ok(_) => Ok(()),
            Err(e) => Err(format!("read failed: {e}")),
        }
    }
}

/// Reads one whole answer into `buffer`: its head, then a body of
/// `content-length` bytes or of chunks.
async fn read_answer(stream: &mut TcpStream, buffer: &mut Buffer) -> Result<Answer, String> {
    let (status, head, length, chunked, close) = loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&buffer.bytes) {
            Ok(httparse::Status::Complete(head)) => {
                let mut length = 0;
                let mut chunked = false;
                let mut close = false;
                for header in response.headers.iter() {
                    let value = std::str::from_utf8(header.value).unwrap_or("");
                    if header.name.eq_ignore_ascii_case("content-length") {
                        length = value
                            .trim()
                            .parse()
                            .map_err(|_| format!("bad content-length `{value}`"))?;
                    } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
                        chunked = value.to_ascii_lowercase().contains("chunked");
                    } else if header.name.eq_ignore_ascii_case("connection") {
                        close = value.eq_ignore_ascii_case("close");
                    }
                }
                break (response.code.unwrap_or(0), head, length, chunked, close);
            }
            Ok(httparse::Status::Partial) => buffer.fill(stream).await?,
            Err(e) => return Err(format!("bad answer: {e}")),
        }
    };
    let body = if chunked {
        dechunk(stream, buffer, head).await?
    } else {
        while buffer.bytes.len() < head + length {
            buffer.fill(stream).await?;
        }
        length
    };
    Ok(Answer {
        status,
        head,
        body,
        close,
    })
}

/// Turns the chunked body after `head` into plain bytes in place and
/// answers its length.
async fn dechunk(
    stream: &mut TcpStream,
    buffer: &mut Buffer,
    head: usize,
) -> Result<usize, String> {
    let mut body = 0;
    loop {
        let at = head + body;
        let line_end = loop {
            if let Some(i) = buffer.bytes[at..].windows(2).position(|w| w == b"\r\n") {
                break at + i;
            }
            buffer.fill(stream).await?;
        };
        let line = std::str::from_utf8(&buffer.bytes[at..line_end]).unwrap_or("");
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size `{size_text}`"))?;
        // The chunk's data and its CRLF (or, after the last chunk, the
        // final CRLF: trailers are not expected).
        while buffer.bytes.len() < line_end + 2 + size + 2 {
            buffer.fill(stream).await?;
        }
        buffer.bytes.drain(at..line_end + 2);
        buffer.bytes.drain(at + size..at + size + 2);
        body += size;
        if size == 0 {
            return Ok(body);
        }
    }
}

/// One request outside a measurement (logins), answering status and body.
pub async fn once(addr: SocketAddr, request: Request) -> anyhow::Result<(u16, Bytes)> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut wire = Vec::new();
    encode(&request, &addr.to_string(), &mut wire);
    stream.write_all(&wire).await?;
    let mut buffer = Buffer::default();
    let answer = read_answer(&mut stream, &mut buffer)
        .await
        .map_err(anyhow::Error::msg)?;
    Ok((answer.status, Bytes::copy_from_slice(buffer.body(&answer))))
}
