//! The HTTP load generator: a fixed number of keep-alive HTTP/1.1
//! connections (hyper's client connection API), each sending its next
//! request as soon as the last answer's body has been read (closed loop),
//! for a warm-up that is not counted and then a fixed measured duration.
//! It runs on one OS thread (a current-thread tokio runtime) so that it
//! takes at most one of the machine's cores, as `wrk -t1` would.
//!
//! Every answer's status is checked against what the scenario expects;
//! the first unexpected answer is kept for the report.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request as HttpRequest};
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    'connect: while Instant::now() < end {
        let stream = match tokio::net::TcpStream::connect(addr).await {
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
        let Ok((mut sender, conn)) =
            hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream)).await
        else {
            continue;
        };
        tokio::spawn(conn);
        while Instant::now() < end {
            if sender.ready().await.is_err() {
                // The server closed the connection (keep-alive ended): reconnect.
                continue 'connect;
            }
            let request = generator(&mut rng);
            let expect = request.expect;
            let mut builder = HttpRequest::builder()
                .method(request.method)
                .uri(request.path)
                .header(HOST, &host);
            if let Some(token) = &request.token {
                builder = builder.header(AUTHORIZATION, format!("Bearer {token}"));
            }
            let body = match request.body {
                Some((content_type, body)) => {
                    builder = builder.header(CONTENT_TYPE, content_type);
                    body
                }
                None => Bytes::new(),
            };
            let Ok(http_request) = builder.body(Full::new(body)) else {
                continue;
            };
            let sent = Instant::now();
            let result = sender.send_request(http_request).await;
            let counted = sent >= measure_from;
            let response = match result {
                Ok(response) => response,
                Err(e) => {
                    note(&mut outcome, counted, format!("request failed: {e}"));
                    continue 'connect;
                }
            };
            let status = response.status().as_u16();
            let body = match response.into_body().collect().await {
                Ok(body) => body.to_bytes(),
                Err(e) => {
                    note(&mut outcome, counted, format!("body failed: {e}"));
                    continue 'connect;
                }
            };
            let done = Instant::now();
            if !counted || done > end {
                continue;
            }
            outcome.requests += 1;
            let micros = done.duration_since(sent).as_micros();
            outcome
                .latencies_us
                .push(u32::try_from(micros).unwrap_or(u32::MAX));
            *outcome.statuses.entry(status).or_default() += 1;
            if status != expect {
                outcome.unexpected += 1;
                if outcome.first_problem.is_none() {
                    let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
                    outcome.first_problem =
                        Some(format!("status {status}, expected {expect}: {text}"));
                }
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

/// One request outside a measurement (logins), answering status and body.
pub async fn once(addr: SocketAddr, request: Request) -> anyhow::Result<(u16, Bytes)> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut builder = HttpRequest::builder()
        .method(request.method)
        .uri(request.path)
        .header(HOST, addr.to_string());
    if let Some(token) = &request.token {
        builder = builder.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = match request.body {
        Some((content_type, body)) => {
            builder = builder.header(CONTENT_TYPE, content_type);
            body
        }
        None => Bytes::new(),
    };
    let response = sender.send_request(builder.body(Full::new(body))?).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body))
}
