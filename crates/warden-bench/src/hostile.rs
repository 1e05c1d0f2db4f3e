//! `warden-bench hostile`: one warden server under attack, one kind of
//! worst-case anonymous request at a time (16 connections sending it
//! back to back), while a well-behaved client reads over one connection
//! of its own. The well-behaved client's p99 must stay under 50 ms and it
//! must see no 5xx but 503 (its own request's deadline); no attacker may
//! get a 500. Loopback only, bounded in time. See docs/security.md.

use crate::data::{Backend, Database, Shape};
use crate::load::{self, Generator, Outcome, Request, Rng};
use crate::servers::Server;
use anyhow::{Result, bail};
use axum::http::Method;
use bytes::Bytes;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Connections sending the attack.
pub const ATTACKERS: usize = 16;

/// What the well-behaved client's p99 must stay under.
const P99_LIMIT_MS: f64 = 50.0;

/// One kind of costly request.
struct Attack {
    name: &'static str,
    what: &'static str,
    generator: Generator,
}

/// `count` text tests joined by `||` as a balanced tree.
fn balanced(count: usize, term: &dyn Fn(usize) -> String) -> String {
    fn join(terms: &[String]) -> String {
        match terms {
            [one] => one.clone(),
            _ => {
                let (left, right) = terms.split_at(terms.len() / 2);
                format!("({} || {})", join(left), join(right))
            }
        }
    }
    join(&(0..count).map(term).collect::<Vec<_>>())
}

/// Query-value encoding: everything but unreserved characters.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn encode(text: &str) -> String {
    utf8_percent_encode(text, QUERY_VALUE).to_string()
}

fn get(path: String) -> Request {
    Request {
        method: Method::GET,
        path,
        body: None,
        token: None,
        expect: 200,
    }
}

fn form(path: &str, body: String) -> Request {
    Request {
        method: Method::POST,
        path: path.to_owned(),
        body: Some(("application/x-www-form-urlencoded", Bytes::from(body))),
        token: None,
        expect: 200,
    }
}

fn attacks(shape: Shape) -> Vec<Attack> {
    // The most a filter may ask by default: 8 text tests (the pattern
    // budget) over long text that matches nothing, so every row is read.
    let within_budget = encode(&balanced(8, &|i| {
        format!("icontains(row.content, 'no such text {i}')")
    }));
    // The attack as first found: 1,400 text tests, 57 KB (over budget).
    let over_budget = encode(&balanced(1400, &|i| {
        format!("icontains(row.title, '{i:0>20}')")
    }));
    let users = shape.users;
    vec![
        Attack {
            name: "filter",
            what: "GET /api/posts?filter= 8 icontains over the content, matching nothing",
            generator: Arc::new(move |_| get(format!("/api/posts?filter={within_budget}"))),
        },
        Attack {
            name: "filter_over_budget",
            what: "GET /api/posts?filter= 1,400 icontains, 57 KB (refused: 400)",
            generator: Arc::new(move |_| get(format!("/api/posts?filter={over_budget}"))),
        },
        Attack {
            name: "search",
            what: "GET /api/posts?search= a term no title holds",
            generator: Arc::new(|rng: &mut Rng| {
                get(format!("/api/posts?search=zq{}", rng.below(1_000_000)))
            }),
        },
        Attack {
            name: "sort",
            what: "GET /api/posts?sort=-content (no index: every row sorted)",
            generator: Arc::new(|_| get("/api/posts?sort=-content".to_owned())),
        },
        Attack {
            name: "expand",
            what: "GET /api/users/N?expand=posts (each user owns rows/users posts)",
            generator: Arc::new(move |rng: &mut Rng| {
                get(format!("/api/users/{}?expand=posts", rng.below(users) + 1))
            }),
        },
        Attack {
            name: "login",
            what: "POST /auth/token, user1's login with wrong passwords",
            generator: Arc::new(|rng: &mut Rng| {
                form(
                    "/auth/token",
                    format!(
                        "grant_type=password&username=user1%40bench.test&password=guess{}",
                        rng.below(1_000_000)
                    ),
                )
            }),
        },
        Attack {
            name: "register",
            what: "POST /auth/register with user1's taken email",
            generator: Arc::new(|rng: &mut Rng| Request {
                method: Method::POST,
                path: "/auth/register".to_owned(),
                body: Some((
                    "application/json",
                    Bytes::from(format!(
                        r#"{{"email":"user1@bench.test","password":"secret-{}"}}"#,
                        rng.below(1_000_000)
                    )),
                )),
                token: None,
                expect: 201,
            }),
        },
    ]
}

/// The well-behaved client: a post by id, then the first page of posts.
fn reader(shape: Shape) -> Generator {
    Arc::new(move |rng: &mut Rng| {
        if rng.below(2) == 0 {
            get(format!("/api/posts/{}", rng.below(shape.rows) + 1))
        } else {
            get("/api/posts?limit=20".to_owned())
        }
    })
}

/// One attack's figures.
struct Phase {
    attack: &'static str,
    attackers: Outcome,
    reader: Outcome,
}

impl Phase {
    /// Why this phase fails the bar, if it does.
    fn failure(&self) -> Option<String> {
        let p99 = self.reader.percentile_ms(99.0);
        if p99 >= P99_LIMIT_MS {
            return Some(format!("the reader's p99 is {p99:.1} ms"));
        }
        let reader_bad: Vec<u16> = self
            .reader
            .statuses
            .keys()
            .copied()
            .filter(|&s| s != 200 && s != 503)
            .collect();
        if !reader_bad.is_empty() || self.reader.errors > 0 || self.reader.requests == 0 {
            return Some(format!(
                "the reader got {reader_bad:?} ({} errors, {} requests): {}",
                self.reader.errors,
                self.reader.requests,
                self.reader.first_problem.as_deref().unwrap_or("")
            ));
        }
        let server_errors: Vec<u16> = self
            .attackers
            .statuses
            .keys()
            .copied()
            .filter(|&s| s >= 500 && s != 503)
            .collect();
        if !server_errors.is_empty() {
            return Some(format!("attackers got {server_errors:?}"));
        }
        None
    }

    fn line(&self, backend: &str) -> String {
        let statuses = |o: &Outcome| {
            o.statuses
                .iter()
                .map(|(s, n)| format!("{s}×{n}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        format!(
            "| {backend} | {} | {:.0} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
            self.attack,
            self.attackers.rps(),
            statuses(&self.attackers),
            self.reader.rps(),
            self.reader.percentile_ms(50.0),
            self.reader.percentile_ms(99.0),
            self.reader
                .latencies_us
                .last()
                .map_or(0.0, |&us| f64::from(us) / 1000.0),
            statuses(&self.reader),
        )
    }
}

/// Runs every attack against one server per backend; fails when any
/// phase misses the bar.
pub fn run(
    backends: &[Backend],
    shape: Shape,
    warmup: Duration,
    duration: Duration,
    config: &Path,
    logs: &Path,
) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut lines = vec![
        format!(
            "{ATTACKERS} attacker connections per attack, 1 reader connection; {} rows over {} users; {:.0} s warm-up + {:.0} s measured per attack",
            shape.rows,
            shape.users,
            warmup.as_secs_f64(),
            duration.as_secs_f64()
        ),
        String::new(),
        "| backend | attack | attack req/s | attack answers | reader req/s | reader p50 ms | reader p99 ms | reader max ms | reader answers |".to_owned(),
        "|---|---|---:|---|---:|---:|---:|---:|---|".to_owned(),
    ];
    let mut failures = Vec::new();
    for backend in backends {
        let database = rt.block_on(Database::create(backend, "hostile"))?;
        let outcome = (|| -> Result<()> {
            rt.block_on(database.fill(config, shape))?;
            let server = Server::warden(config, &database.url, logs)?;
            for attack in attacks(shape) {
                println!("{} {}: {}", backend.name(), attack.name, attack.what);
                let addr = server.addr;
                let (attackers, reader) = std::thread::scope(|scope| {
                    let attackers = scope.spawn(|| {
                        load::drive(
                            addr,
                            attack.generator.clone(),
                            ATTACKERS,
                            warmup,
                            duration,
                            Box::new(|| {}),
                        )
                    });
                    let reader = scope.spawn(|| {
                        load::drive(addr, reader(shape), 1, warmup, duration, Box::new(|| {}))
                    });
                    (
                        attackers.join().unwrap_or_default(),
                        reader.join().unwrap_or_default(),
                    )
                });
                let phase = Phase {
                    attack: attack.name,
                    attackers,
                    reader,
                };
                let line = phase.line(backend.name());
                println!("{line}");
                if let Some(why) = phase.failure() {
                    failures.push(format!("{} {}: {why}", backend.name(), attack.name));
                }
                lines.push(line);
            }
            server.stop();
            Ok(())
        })();
        rt.block_on(database.drop_database());
        outcome?;
    }
    println!("\n{}", lines.join("\n"));
    if !failures.is_empty() {
        bail!("the bar was missed:\n{}", failures.join("\n"));
    }
    println!("\nevery phase: reader p99 < {P99_LIMIT_MS} ms, no 5xx but 503, no attacker 500");
    Ok(())
}
