//! The systems as child processes, so that each one's peak RSS (`VmHWM` in
//! `/proc/<pid>/status`, summed over its process tree) is its own: warden
//! and the floor are this binary re-run as `serve-warden` /
//! `serve-floor`; FastAPI is uvicorn from the bench's virtualenv, and
//! PocketBase the binary from its own.

use anyhow::{Context, Result, bail};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The JWT secret every system signs with in the bench.
pub const JWT_SECRET: &str = "warden-bench-secret-warden-bench-secret-0123456789";

pub struct Server {
    pub name: &'static str,
    pub addr: SocketAddr,
    child: Child,
    log: PathBuf,
}

fn free_port() -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

impl Server {
    pub fn warden(config: &Path, database_url: &str, logs: &Path) -> Result<Server> {
        let addr = free_port()?;
        let mut command = Command::new(std::env::current_exe()?);
        command
            .arg("serve-warden")
            .arg("--config")
            .arg(config)
            .arg("--database")
            .arg(database_url)
            .arg("--listen")
            .arg(addr.to_string());
        Server::start("warden", command, addr, logs)
    }

    pub fn floor(database_url: &str, logs: &Path) -> Result<Server> {
        let addr = free_port()?;
        let mut command = Command::new(std::env::current_exe()?);
        command
            .arg("serve-floor")
            .arg("--database")
            .arg(database_url)
            .arg("--listen")
            .arg(addr.to_string());
        Server::start("floor", command, addr, logs)
    }

    /// uvicorn with 2 worker processes (one per core), no access log.
    pub fn fastapi(venv: &Path, app_dir: &Path, python_url: &str, logs: &Path) -> Result<Server> {
        let addr = free_port()?;
        let mut command = Command::new(venv.join("bin/uvicorn"));
        command
            .current_dir(app_dir)
            .env("DATABASE_URL", python_url)
            .env("JWT_SECRET", JWT_SECRET)
            .args([
                "app:app",
                "--workers",
                "2",
                "--no-access-log",
                "--log-level",
                "warning",
            ])
            .arg("--host")
            .arg(addr.ip().to_string())
            .arg("--port")
            .arg(addr.port().to_string());
        Server::start("fastapi", command, addr, logs)
    }

    /// `pocketbase serve` on `data`, with PocketBase's defaults.
    pub fn pocketbase(binary: &Path, home: &Path, data: &Path, logs: &Path) -> Result<Server> {
        let addr = free_port()?;
        let mut command = Command::new(binary);
        command
            .current_dir(home)
            .arg("serve")
            .arg("--http")
            .arg(addr.to_string())
            .arg("--dir")
            .arg(data);
        Server::start("pocketbase", command, addr, logs)
    }

    fn start(
        name: &'static str,
        mut command: Command,
        addr: SocketAddr,
        logs: &Path,
    ) -> Result<Server> {
        let log = logs.join(format!("{name}-{}.log", addr.port()));
        let file = std::fs::File::create(&log)?;
        command
            .env("WARDEN_JWT_SECRET", JWT_SECRET)
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file);
        let child = command.spawn().with_context(|| format!("start {name}"))?;
        let mut server = Server {
            name,
            addr,
            child,
            log,
        };
        server.wait_ready(Duration::from_secs(60))?;
        Ok(server)
    }

    fn wait_ready(&mut self, limit: Duration) -> Result<()> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{} exited ({status}) before listening:\n{}",
                    self.name,
                    self.log_tail()
                );
            }
            if std::net::TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok()
            {
                return Ok(());
            }
            if started.elapsed() > limit {
                bail!(
                    "{} did not listen within {limit:?}:\n{}",
                    self.name,
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// The server's process and its descendants (uvicorn's workers).
    pub fn pids(&self) -> Vec<u32> {
        let mut pids = vec![self.child.id()];
        let mut i = 0;
        while i < pids.len() {
            let pid = pids[i];
            let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                .unwrap_or_default();
            pids.extend(
                children
                    .split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
            i += 1;
        }
        pids
    }

    /// Peak RSS since the last reset, in MiB, summed over the processes.
    pub fn peak_rss_mib(&self) -> f64 {
        self.pids()
            .iter()
            .map(|pid| status_kib(*pid, "VmHWM:"))
            .sum::<u64>() as f64
            / 1024.0
    }

    /// CPU time (user + system) the server's processes have used so far,
    /// in seconds; the database server's own processes are not counted.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(&self.pids())
    }

    pub fn stop(mut self) {
        let pids = self.pids();
        for pid in &pids {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        for pid in pids.iter().skip(1) {
            if Path::new(&format!("/proc/{pid}")).exists() {
                let _ = Command::new("kill")
                    .arg("-KILL")
                    .arg(pid.to_string())
                    .status();
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `utime + stime` of each process in `/proc/<pid>/stat` (all its
/// threads), in seconds: Linux reports them in USER_HZ = 100 ticks.
pub fn cpu_seconds(pids: &[u32]) -> f64 {
    pids.iter()
        .map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // Fields after the parenthesised command name; utime and stime
            // are fields 14 and 15 of the whole line.
            let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let ticks = |i: usize| {
                fields
                    .get(i)
                    .and_then(|f| f.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            (ticks(11) + ticks(12)) as f64 / 100.0
        })
        .sum()
}

fn status_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A virtualenv holding `requirements` (a requirements file's text):
/// created with `python3 -m venv` and filled with `pip install -r` when
/// missing, or stale, or without `bin/<probe>`.
pub fn ensure_venv(venv: &Path, requirements: &str, probe: &str) -> Result<()> {
    let stamp = venv.join("warden-bench-requirements.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(requirements)
        && venv.join("bin").join(probe).exists()
    {
        return Ok(());
    }
    eprintln!(
        "setup: creating the virtualenv {} (python3 -m venv; pip install -r)",
        venv.display()
    );
    let status = Command::new("python3")
        .arg("-m")
        .arg("venv")
        .arg("--clear")
        .arg(venv)
        .status()?;
    if !status.success() {
        bail!("python3 -m venv failed");
    }
    // The stamp is written only once pip has succeeded.
    let wanted = venv.join("warden-bench-requirements.wanted");
    std::fs::write(&wanted, requirements)?;
    let status = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(&wanted)
        .status()?;
    if !status.success() {
        bail!("pip install failed");
    }
    std::fs::rename(&wanted, &stamp)?;
    Ok(())
}
