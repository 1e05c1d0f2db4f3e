//! warden-bench: warden next to a hand-written floor, the seed's FastAPI
//! stack and PocketBase, on the same data, in one run. See
//! docs/performance.md.
//!
//! ```sh
//! cargo run --release -p warden-bench -- all [--postgres URL] [--rows N] [--duration SECS] [--no-pocketbase]
//! cargo run --release -p warden-bench -- smoke
//! cargo run --release -p warden-bench -- medians run1.json run2.json …
//! cargo run --release -p warden-bench -- hostile [--postgres URL]
//! ```

mod data;
mod floor;
mod hostile;
mod load;
mod medians;
mod pocketbase;
mod refusals;
mod report;
mod scenarios;
mod servers;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Parser};
use data::Tokens;
use data::{Backend, Database, READERS, Shape};
use report::Record;
use scenarios::{Context, Scenario, System};
use servers::Server;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The allocator the `warden` binary uses, so `serve-warden` matches
/// `warden serve` (the floor, served by this binary too, gets it as well).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    about = "warden vs a hand-written axum+sqlx floor vs FastAPI vs PocketBase, side by side"
)]
enum Cli {
    /// The full benchmark: 1,000,000 rows and 10,000 rows, every scenario.
    All(Options),
    /// A few seconds: tiny data, 1 s per scenario, FastAPI and PocketBase
    /// only if their virtualenvs already exist. Exits non-zero on any wrong
    /// answer.
    Smoke(SmokeOptions),
    /// (internal) Serves warden on a bench database.
    ServeWarden {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        database: String,
        #[arg(long)]
        listen: String,
    },
    /// Migrates a database and fills it with the bench data, and keeps it
    /// (for profiling by hand: then `serve-warden` / `serve-floor` on it).
    Generate {
        #[arg(long)]
        database: String,
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        #[arg(long, default_value_t = 10_000)]
        users: u64,
    },
    /// Each cell's ratios over several runs (their `--json` files), and
    /// the median: one run's cell moves with the machine's neighbours.
    Medians {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Worst-case anonymous requests, one kind at a time from 16
    /// connections, while a well-behaved client reads: its p99 must stay
    /// under 50 ms with no 5xx but 503. Exits non-zero when it does not.
    Hostile(HostileOptions),
    /// (internal) Serves the floor on a bench database.
    ServeFloor {
        #[arg(long)]
        database: String,
        #[arg(long)]
        listen: String,
    },
}

#[derive(Args, Clone)]
struct Options {
    /// Also run on PostgreSQL: an admin URL; a database is created and dropped.
    #[arg(long)]
    postgres: Option<String>,
    /// Posts (and articles) in the large data set.
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Rows in the small data set (the "flat from 10k" check); 0 skips it.
    #[arg(long, default_value_t = 10_000)]
    small_rows: u64,
    #[arg(long, default_value_t = 10_000)]
    users: u64,
    /// Measured seconds per scenario and system (the default keeps a run
    /// with PostgreSQL, cold build included, under 15 minutes on 2 cores).
    #[arg(long, default_value_t = 4.0)]
    duration: f64,
    /// Warm-up seconds before each measurement (not counted).
    #[arg(long, default_value_t = 1.5)]
    warmup: f64,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Skip the FastAPI baseline.
    #[arg(long)]
    no_fastapi: bool,
    /// Skip the PocketBase baseline (it runs on SQLite only).
    #[arg(long)]
    no_pocketbase: bool,
    /// Only these scenarios (comma-separated names).
    #[arg(long)]
    scenarios: Option<String>,
    /// Where the FastAPI virtualenv lives (default: <target>/warden-bench-venv).
    #[arg(long)]
    venv: Option<PathBuf>,
    /// Where PocketBase's virtualenv lives (default:
    /// <target>/warden-bench-pocketbase).
    #[arg(long)]
    pocketbase_venv: Option<PathBuf>,
    /// Also write the results as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Args, Clone)]
struct HostileOptions {
    /// Also run on PostgreSQL: an admin URL; a database is created and dropped.
    #[arg(long)]
    postgres: Option<String>,
    #[arg(long, default_value_t = 100_000)]
    rows: u64,
    /// Few users, so each one's to-many `posts` is large.
    #[arg(long, default_value_t = 10)]
    users: u64,
    /// Measured seconds per attack.
    #[arg(long, default_value_t = 8.0)]
    duration: f64,
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
}

#[derive(Args, Clone)]
struct SmokeOptions {
    #[arg(long)]
    json: Option<PathBuf>,
    #[arg(long)]
    postgres: Option<String>,
    #[arg(long)]
    venv: Option<PathBuf>,
    #[arg(long)]
    pocketbase_venv: Option<PathBuf>,
}

fn main() -> Result<()> {
    match Cli::parse() {
        Cli::All(options) => run(options, false),
        Cli::Smoke(smoke) => run(
            Options {
                postgres: smoke.postgres,
                rows: 2_000,
                small_rows: 0,
                users: 200,
                duration: 1.0,
                warmup: 0.3,
                connections: 4,
                no_fastapi: false,
                no_pocketbase: false,
                scenarios: None,
                venv: smoke.venv,
                pocketbase_venv: smoke.pocketbase_venv,
                json: smoke.json,
            },
            true,
        ),
        Cli::ServeWarden {
            config,
            database,
            listen,
        } => runtime()?.block_on(serve_warden(&config, &database, &listen)),
        Cli::Generate {
            database,
            rows,
            users,
        } => runtime()?.block_on(async {
            let seconds = Database::existing(&database)
                .fill(
                    &crate_dir().join("configs/bench.toml"),
                    Shape { rows, users },
                )
                .await?;
            println!("{database}: {rows} rows over {users} users in {seconds:.1} s");
            Ok(())
        }),
        Cli::Medians { files } => {
            print!("{}", medians::render(&medians::read(&files)?));
            Ok(())
        }
        Cli::Hostile(options) => {
            let mut backends = vec![Backend::Sqlite];
            if let Some(url) = options.postgres {
                backends.push(Backend::Postgres { admin_url: url });
            }
            let logs = tempfile::Builder::new()
                .prefix("warden-bench-logs-")
                .tempdir()?;
            hostile::run(
                &backends,
                Shape {
                    rows: options.rows,
                    users: options.users.clamp(READERS, options.rows.max(READERS)),
                },
                Duration::from_secs_f64(options.warmup),
                Duration::from_secs_f64(options.duration),
                &crate_dir().join("configs/hostile.toml"),
                logs.path(),
            )
        }
        Cli::ServeFloor { database, listen } => runtime()?.block_on(async {
            let router = floor::router(&database, servers::JWT_SECRET.as_bytes()).await?;
            let listener = tokio::net::TcpListener::bind(&listen).await?;
            axum::serve(listener, router).await?;
            Ok(())
        }),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Exactly what `warden serve` does once the database is migrated,
/// logging included (the binary's default filter logs every denial).
async fn serve_warden(config: &Path, database: &str, listen: &str) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WARDEN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,warden::authz=info")),
        )
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal: a log file or collector
        // gets plain text, not escape codes.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let config = warden::config::Config::load(config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let store = warden::store::Store::open(&config, Some(database)).await?;
    let app = warden::app::App::new(config, store, servers::JWT_SECRET.as_bytes())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    warden::server::serve(app, listener).await?;
    Ok(())
}

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `name` in the target folder, where the bench keeps its virtualenvs.
fn in_target(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate_dir().join("../../target"));
    target.join(name)
}

fn run(options: Options, smoke: bool) -> Result<()> {
    let started = Instant::now();
    let machine = report::machine();
    println!("{machine}");
    let only: Option<Vec<String>> = options
        .scenarios
        .as_ref()
        .map(|s| s.split(',').map(|p| p.trim().to_owned()).collect());
    let venv = options
        .venv
        .clone()
        .unwrap_or_else(|| in_target("warden-bench-venv"));
    let fastapi_dir = crate_dir().join("fastapi");
    let fastapi = if options.no_fastapi {
        false
    } else if smoke {
        let present = venv.join("bin/uvicorn").exists();
        if !present {
            println!(
                "smoke: no FastAPI virtualenv at {}; FastAPI skipped",
                venv.display()
            );
        }
        present
    } else {
        let requirements = std::fs::read_to_string(fastapi_dir.join("requirements.txt"))?;
        servers::ensure_venv(&venv, &requirements, "uvicorn")?;
        true
    };
    let pocketbase_venv = options
        .pocketbase_venv
        .clone()
        .unwrap_or_else(|| in_target("warden-bench-pocketbase"));
    let pocketbase = if options.no_pocketbase {
        None
    } else if smoke {
        let present = pocketbase::installed(&pocketbase_venv);
        if present.is_none() {
            println!(
                "smoke: no PocketBase {} at {}; PocketBase skipped",
                pocketbase::VERSION,
                pocketbase_venv.display()
            );
        }
        present
    } else {
        Some(pocketbase::install(&pocketbase_venv)?)
    };
    let config = crate_dir().join("configs/bench.toml");
    let logs = tempfile::Builder::new()
        .prefix("warden-bench-logs-")
        .tempdir()?;
    let mut backends = vec![Backend::Sqlite];
    if let Some(url) = &options.postgres {
        backends.push(Backend::Postgres {
            admin_url: url.clone(),
        });
    }
    let mut sizes = vec![options.rows];
    if options.small_rows > 0 && options.small_rows != options.rows {
        sizes.push(options.small_rows);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut records: Vec<Record> = Vec::new();
    let mut generation: Vec<String> = Vec::new();
    for backend in &backends {
        for (n, &rows) in sizes.iter().enumerate() {
            let shape = Shape {
                rows,
                users: options.users.min(rows.max(READERS)),
            };
            let database = rt.block_on(Database::create(backend, &format!("r{rows}")))?;
            let outcome = run_size(
                &rt,
                &options,
                smoke,
                n > 0,
                fastapi,
                pocketbase
                    .as_deref()
                    .filter(|_| *backend == Backend::Sqlite),
                &config,
                &fastapi_dir,
                &venv,
                logs.path(),
                &database,
                shape,
                only.as_deref(),
                &mut records,
                &mut generation,
            );
            rt.block_on(database.drop_database());
            outcome?;
        }
    }
    let total = started.elapsed().as_secs_f64();
    let text = report::render(
        &records,
        &generation,
        &machine,
        total,
        &options_line(&options, smoke),
        pocketbase.is_some().then_some(pocketbase::DEFAULTS),
    );
    println!("\n{text}");
    if let Some(path) = &options.json {
        std::fs::write(path, serde_json::to_string_pretty(&records)?)?;
    }
    let wrong: Vec<&Record> = records
        .iter()
        .filter(|r| r.unexpected > 0 || r.errors > 0 || r.requests == 0)
        .collect();
    if !wrong.is_empty() {
        for r in &wrong {
            eprintln!(
                "WRONG: {} {} {} rows={}: requests={} unexpected={} errors={} {}",
                r.backend,
                r.scenario,
                r.system,
                r.rows,
                r.requests,
                r.unexpected,
                r.errors,
                r.problem.as_deref().unwrap_or("")
            );
        }
        bail!(
            "{} measurements had wrong answers or no requests (server logs: {})",
            wrong.len(),
            logs.keep().display()
        );
    }
    Ok(())
}

fn options_line(options: &Options, smoke: bool) -> String {
    format!(
        "{}rows {} and {}, users {}, {} connections, {} s warm-up + {} s measured per cell, load generator: 1 thread (built-in, httparse)",
        if smoke { "smoke: " } else { "" },
        options.rows,
        options.small_rows,
        options.users,
        options.connections,
        options.warmup,
        options.duration
    )
}

#[allow(clippy::too_many_arguments)]
fn run_size(
    rt: &tokio::runtime::Runtime,
    options: &Options,
    smoke: bool,
    small: bool,
    fastapi: bool,
    pocketbase_binary: Option<&Path>,
    config: &Path,
    fastapi_dir: &Path,
    venv: &Path,
    logs: &Path,
    database: &Database,
    shape: Shape,
    only: Option<&[String]>,
    records: &mut Vec<Record>,
    generation: &mut Vec<String>,
) -> Result<()> {
    let backend = database.backend.name();
    let seconds = rt.block_on(database.fill(config, shape))?;
    let line = format!(
        "{backend}: {} users, {} posts, {} articles, {} acl grants generated in {seconds:.1} s",
        shape.users,
        shape.rows,
        shape.rows,
        shape.grants()
    );
    println!("{line}");
    generation.push(line);
    let warden = Server::warden(config, &database.url, logs)?;
    let floor = Server::floor(&database.url, logs)?;
    let python = if fastapi {
        Some(Server::fastapi(
            venv,
            fastapi_dir,
            &database.python_url,
            logs,
        )?)
    } else {
        None
    };
    // Started like the others, before the checks; a failure to start is
    // reported from inside them, so that the others are stopped.
    let pocketbase_started = pocketbase_binary
        .map(|binary| rt.block_on(pocketbase::Instance::start(binary, shape, logs)))
        .transpose();
    let result = (|| -> Result<()> {
        rt.block_on(refusals::check(warden.addr, floor.addr))?;
        // The fair floor verifies the very tokens warden issued.
        let warden_tokens =
            rt.block_on(login(warden.addr, scenarios::token_request, "access_token"))?;
        let python_tokens = match &python {
            Some(server) => {
                rt.block_on(login(server.addr, scenarios::token_request, "access_token"))?
            }
            None => Tokens::default(),
        };
        let pocketbase = match &pocketbase_started {
            Ok(Some((instance, seconds))) => {
                let line = format!(
                    "pocketbase: the same data in its own folder in {seconds:.1} s (its migration, then SQL)"
                );
                println!("{line}");
                generation.push(line);
                Some(instance)
            }
            Ok(None) => None,
            Err(e) => bail!("pocketbase: {e:#}"),
        };
        let pocketbase_tokens = match pocketbase {
            Some(instance) => {
                let tokens = rt.block_on(login(
                    instance.server.addr,
                    pocketbase::token_request,
                    "token",
                ))?;
                rt.block_on(pocketbase::check(instance.server.addr, shape, &tokens))?;
                tokens
            }
            None => Tokens::default(),
        };
        let scenarios: Vec<Scenario> = if small {
            vec![Scenario::GetPost, Scenario::ListAcl]
        } else {
            scenarios::ALL.to_vec()
        };
        for scenario in scenarios {
            if only.is_some_and(|o| !o.iter().any(|n| n == scenario.name())) {
                continue;
            }
            for &system in scenario.systems() {
                let (server, tokens) = match system {
                    System::Warden => (&warden, warden_tokens.clone()),
                    System::Floor => (&floor, warden_tokens.clone()),
                    System::FloorNoAuth | System::FloorOr => (&floor, Tokens::default()),
                    System::Fastapi => match &python {
                        Some(server) => (server, python_tokens.clone()),
                        None => continue,
                    },
                    System::PocketBase => match pocketbase {
                        Some(instance) => (&instance.server, pocketbase_tokens.clone()),
                        None => continue,
                    },
                };
                let generator = scenarios::generator(system, scenario, Context::new(shape, tokens));
                let pids = server.pids();
                let cpu_at_start = std::sync::Arc::new(std::sync::Mutex::new(0.0));
                let cpu_mark = std::sync::Arc::clone(&cpu_at_start);
                let reset: Box<dyn FnOnce() + Send> = Box::new(move || {
                    for pid in &pids {
                        let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
                    }
                    *cpu_mark.lock().expect("cpu mark") = servers::cpu_seconds(&pids);
                });
                let (warmup, duration) = if scenario == Scenario::Token {
                    // Password hashing: few requests per second (fewer
                    // still in a debug build, or for PocketBase's bcrypt, on
                    // a loaded machine); measure longer.
                    let factor = if smoke { 6.0 } else { 1.5 };
                    (
                        Duration::from_secs_f64(options.warmup),
                        Duration::from_secs_f64(options.duration * factor),
                    )
                } else {
                    (
                        Duration::from_secs_f64(options.warmup),
                        Duration::from_secs_f64(options.duration),
                    )
                };
                let outcome = load::drive(
                    server.addr,
                    generator,
                    options.connections,
                    warmup,
                    duration,
                    reset,
                );
                let rss = server.peak_rss_mib();
                let cpu = server.cpu_seconds() - *cpu_at_start.lock().expect("cpu mark");
                let record = Record::new(backend, shape.rows, scenario, system, &outcome, rss, cpu);
                println!("{}", record.line());
                records.push(record);
            }
        }
        Ok(())
    })();
    if result.is_err() {
        eprintln!(
            "warden log:\n{}\nfloor log:\n{}",
            warden.log_tail(),
            floor.log_tail()
        );
    }
    warden.stop();
    floor.stop();
    if let Some(python) = python {
        if result.is_err() {
            eprintln!("fastapi log:\n{}", python.log_tail());
        }
        python.stop();
    }
    if let Ok(Some((instance, _))) = pocketbase_started {
        if result.is_err() {
            eprintln!("pocketbase log:\n{}", instance.server.log_tail());
        }
        instance.server.stop();
    }
    result
}

/// Logs in the reader users with the system's password login (`request`),
/// whose answer carries the token in `field`.
async fn login(
    addr: std::net::SocketAddr,
    request: fn(u64) -> load::Request,
    field: &str,
) -> Result<Tokens> {
    let mut tokens = Vec::new();
    for user in 1..=READERS {
        let (status, body) = load::once(addr, request(user)).await?;
        if status != 200 {
            bail!(
                "login of user {user} at {addr}: {status} {}",
                String::from_utf8_lossy(&body)
            );
        }
        let json: serde_json::Value = serde_json::from_slice(&body)?;
        let token = json[field]
            .as_str()
            .with_context(|| format!("no {field} in the login answer"))?;
        tokens.push(Arc::<str>::from(token));
    }
    Ok(Tokens(tokens))
}
