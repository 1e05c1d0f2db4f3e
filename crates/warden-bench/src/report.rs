//! Results: one record per (backend, rows, scenario, system), printed as
//! it is measured and at the end as Markdown tables with the ratios.

use crate::load::Outcome;
use crate::scenarios::{Scenario, System};
use std::collections::BTreeMap;
use std::fmt::Write as _;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Record {
    pub backend: String,
    pub rows: u64,
    pub scenario: &'static str,
    pub system: &'static str,
    #[serde(skip)]
    pub system_kind: Option<System>,
    pub requests: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub peak_rss_mib: f64,
    /// The server's own CPU time per answered request, in microseconds
    /// (user + system, every thread and worker; not the database server).
    pub cpu_us_per_request: f64,
    pub statuses: BTreeMap<String, u64>,
    pub unexpected: u64,
    pub errors: u64,
    pub problem: Option<String>,
}

impl Record {
    pub fn new(
        backend: &str,
        rows: u64,
        scenario: Scenario,
        system: System,
        outcome: &Outcome,
        rss: f64,
        cpu_seconds: f64,
    ) -> Record {
        Record {
            backend: backend.to_owned(),
            rows,
            scenario: scenario.name(),
            system: system.label(),
            system_kind: Some(system),
            requests: outcome.requests,
            rps: outcome.rps(),
            p50_ms: outcome.percentile_ms(50.0),
            p99_ms: outcome.percentile_ms(99.0),
            peak_rss_mib: rss,
            cpu_us_per_request: cpu_seconds * 1e6 / outcome.requests.max(1) as f64,
            statuses: outcome
                .statuses
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            unexpected: outcome.unexpected,
            errors: outcome.errors,
            problem: outcome.first_problem.clone(),
        }
    }

    fn statuses_text(&self) -> String {
        let mut text: Vec<String> = self
            .statuses
            .iter()
            .map(|(k, v)| format!("{k}×{v}"))
            .collect();
        if self.errors > 0 {
            text.push(format!("errors×{}", self.errors));
        }
        text.join(" ")
    }

    pub fn line(&self) -> String {
        let mut line = format!(
            "{:8} {:>9} {:14} {:21} {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  peak RSS {:>6.1} MiB  CPU {:>6.0} µs/req  [{}]",
            self.backend,
            self.rows,
            self.scenario,
            self.system,
            self.rps,
            self.p50_ms,
            self.p99_ms,
            self.peak_rss_mib,
            self.cpu_us_per_request,
            self.statuses_text()
        );
        if self.unexpected > 0 || self.errors > 0 {
            let _ = write!(line, "  WRONG: {}", self.problem.as_deref().unwrap_or(""));
        }
        line
    }
}

/// `nproc`, load average, date, kernel: where the numbers come from.
pub fn machine() -> String {
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let date = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!(
        "machine: nproc {nproc}, {cpu}; load average {} at start; {date}",
        load.join(" ")
    )
}

fn find<'a>(
    records: &'a [Record],
    backend: &str,
    rows: u64,
    scenario: &str,
    system: System,
) -> Option<&'a Record> {
    records.iter().find(|r| {
        r.backend == backend
            && r.rows == rows
            && r.scenario == scenario
            && r.system_kind == Some(system)
    })
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "–".to_owned(),
    }
}

/// warden over PocketBase on each scenario both ran, for the issue's
/// goals: req/s (≥ 5), p99 (≤ 0.1) and peak RSS (≤ 0.33).
fn pocketbase_ratios(out: &mut String, records: &[Record], backend: &str, rows: u64) {
    let pairs: Vec<(&Record, &Record)> = records
        .iter()
        .filter(|r| r.backend == backend && r.rows == rows)
        .filter(|r| r.system_kind == Some(System::PocketBase))
        .filter_map(|p| Some((find(records, backend, rows, p.scenario, System::Warden)?, p)))
        .collect();
    if pairs.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n| scenario | warden/PocketBase req/s | warden/PocketBase p99 | warden/PocketBase peak RSS |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|");
    for (w, p) in pairs {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            w.scenario,
            ratio(Some(w.rps), Some(p.rps)),
            ratio(Some(w.p99_ms), Some(p.p99_ms)),
            ratio(Some(w.peak_rss_mib), Some(p.peak_rss_mib)),
        );
    }
}

pub fn render(
    records: &[Record],
    generation: &[String],
    machine: &str,
    total_seconds: f64,
    options: &str,
    pocketbase: Option<&str>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{machine}");
    let _ = writeln!(out, "{options}");
    for line in generation {
        let _ = writeln!(out, "{line}");
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let _ = writeln!(
        out,
        "whole run: {:.0} s; load average at the end: {}",
        total_seconds,
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    if let Some(defaults) = pocketbase {
        let _ = writeln!(out, "{defaults}");
    }
    let mut groups: Vec<(String, u64)> = Vec::new();
    for r in records {
        if !groups.contains(&(r.backend.clone(), r.rows)) {
            groups.push((r.backend.clone(), r.rows));
        }
    }
    for (backend, rows) in &groups {
        let _ = writeln!(out, "\n### {backend}, {rows} rows\n");
        let _ = writeln!(
            out,
            "| scenario | system | req/s | p50 ms | p99 ms | peak RSS MiB | server CPU µs/req | answers |"
        );
        let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---|");
        for r in records
            .iter()
            .filter(|r| &r.backend == backend && r.rows == *rows)
        {
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {:.2} | {:.2} | {:.1} | {:.0} | {} |",
                r.scenario,
                r.system,
                r.rps,
                r.p50_ms,
                r.p99_ms,
                r.peak_rss_mib,
                r.cpu_us_per_request,
                r.statuses_text()
            );
        }
        let _ = writeln!(
            out,
            "\n| scenario | warden/floor req/s | warden/no-auth floor req/s | warden/FastAPI req/s | warden p99 / floor p99 | warden/floor CPU per request |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
        let mut seen = Vec::new();
        for r in records
            .iter()
            .filter(|r| &r.backend == backend && r.rows == *rows)
        {
            if seen.contains(&r.scenario) {
                continue;
            }
            seen.push(r.scenario);
            let w = find(records, backend, *rows, r.scenario, System::Warden);
            let f = find(records, backend, *rows, r.scenario, System::Floor);
            let n = find(records, backend, *rows, r.scenario, System::FloorNoAuth);
            let p = find(records, backend, *rows, r.scenario, System::Fastapi);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                r.scenario,
                ratio(w.map(|r| r.rps), f.map(|r| r.rps)),
                ratio(w.map(|r| r.rps), n.map(|r| r.rps)),
                ratio(w.map(|r| r.rps), p.map(|r| r.rps)),
                ratio(w.map(|r| r.p99_ms), f.map(|r| r.p99_ms)),
                ratio(
                    w.map(|r| r.cpu_us_per_request),
                    f.map(|r| r.cpu_us_per_request)
                ),
            );
        }
        pocketbase_ratios(&mut out, records, backend, *rows);
    }
    // The list from the small to the large data set.
    let backends: Vec<&String> = groups
        .iter()
        .map(|(b, _)| b)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for backend in backends {
        let sizes: Vec<u64> = groups
            .iter()
            .filter(|(b, _)| b == backend)
            .map(|(_, r)| *r)
            .collect();
        if sizes.len() < 2 {
            continue;
        }
        let _ = writeln!(
            out,
            "\n### {backend}: list_acl from {} to {} rows\n",
            sizes[sizes.len() - 1],
            sizes[0]
        );
        let _ = writeln!(out, "| system | rows | req/s | p50 ms | p99 ms |");
        let _ = writeln!(out, "|---|---:|---:|---:|---:|");
        for system in [
            System::Warden,
            System::Floor,
            System::FloorNoAuth,
            System::FloorOr,
            System::Fastapi,
            System::PocketBase,
        ] {
            for &rows in sizes.iter().rev() {
                if let Some(r) = find(records, backend, rows, "list_acl", system) {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {:.0} | {:.2} | {:.2} |",
                        r.system, rows, r.rps, r.p50_ms, r.p99_ms
                    );
                }
            }
        }
    }
    let _ = writeln!(out, "\nScenarios:");
    for s in crate::scenarios::ALL {
        let _ = writeln!(out, "- {}: {}", s.name(), s.describe());
    }
    out
}
