//! `warden serve` as a child process (the real binary, on a free port),
//! for tests about processes: several instances, kills and signals.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A `warden serve` child process, killed on drop.
pub struct Instance {
    pub child: Child,
    pub base: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `warden serve CONFIG --database DATABASE [--seed]` signing with
/// `secret`, and waits until it prints the address it listens on.
pub fn start(config: &Path, database: &str, seed: bool, secret: &str) -> Instance {
    let mut command = Command::new(env!("CARGO_BIN_EXE_warden"));
    command
        .arg("serve")
        .arg(config)
        .args(["--listen", "127.0.0.1:0", "--database", database])
        .env("WARDEN_JWT_SECRET", secret)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if seed {
        command.arg("--seed");
    }
    let mut child = command.spawn().expect("start warden");
    let stdout = child.stdout.take().expect("stdout");
    let mut base = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if let Some(address) = line.strip_prefix("warden listening on ") {
            base = Some(address.trim().to_owned());
            break;
        }
    }
    Instance {
        child,
        base: base.expect("warden printed its address"),
    }
}
