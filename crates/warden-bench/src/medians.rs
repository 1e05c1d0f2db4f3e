//! Several runs side by side: the ratios of each run's cells (warden
//! against the floors, FastAPI and PocketBase) and their median, from the
//! JSON files `--json` wrote. One run's cell moves by ±30% on a noisy machine;
//! the median of a few runs is what the docs quote.

use crate::scenarios::POCKETBASE;
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::PathBuf;

/// The fields of a record (`report::Record`) the ratios need.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Cell {
    pub backend: String,
    pub rows: u64,
    pub scenario: String,
    pub system: String,
    pub rps: f64,
    /// Absent from runs before PocketBase was measured: 0, so no ratio.
    #[serde(default)]
    pub p99_ms: f64,
    #[serde(default)]
    pub peak_rss_mib: f64,
}

/// Which of a cell's figures a ratio divides.
#[derive(Clone, Copy)]
enum Metric {
    Rps,
    P99,
    PeakRss,
}

impl Metric {
    fn of(self, cell: &Cell) -> f64 {
        match self {
            Metric::Rps => cell.rps,
            Metric::P99 => cell.p99_ms,
            Metric::PeakRss => cell.peak_rss_mib,
        }
    }
}

/// The systems warden is compared with, as the records label them. Runs
/// from before the fair floor had only the no-auth floor, labelled "floor
/// (axum+sqlx)": read as the no-auth line, never as the fair floor.
const BASELINES: [(&[&str], &str, Metric); 6] = [
    (
        &["floor (axum+sqlx+JWT)"],
        "warden/floor req/s",
        Metric::Rps,
    ),
    (
        &["floor, no auth", "floor (axum+sqlx)"],
        "warden/no-auth floor req/s",
        Metric::Rps,
    ),
    (&["FastAPI"], "warden/FastAPI req/s", Metric::Rps),
    (&[POCKETBASE], "warden/PocketBase req/s", Metric::Rps),
    (&[POCKETBASE], "warden/PocketBase p99", Metric::P99),
    (&[POCKETBASE], "warden/PocketBase peak RSS", Metric::PeakRss),
];

pub fn read(files: &[PathBuf]) -> Result<Vec<Vec<Cell>>> {
    files
        .iter()
        .map(|file| {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            serde_json::from_str(&text).with_context(|| format!("parsing {}", file.display()))
        })
        .collect()
}

/// One Markdown table per baseline: a row per cell (backend, rows,
/// scenario, in the order of the first run), a column per run, the median.
pub fn render(runs: &[Vec<Cell>]) -> String {
    let mut out = String::new();
    let Some(first) = runs.first() else {
        return out;
    };
    for (baseline, title, metric) in BASELINES {
        let _ = write!(out, "\n| {title} |");
        for n in 1..=runs.len() {
            let _ = write!(out, " run {n} |");
        }
        let _ = writeln!(out, " median |");
        let _ = writeln!(out, "|---|{}---:|", "---:|".repeat(runs.len()));
        for cell in first.iter().filter(|c| c.system == "warden") {
            let ratios: Vec<Option<f64>> = runs
                .iter()
                .map(|run| ratio(run, cell, baseline, metric))
                .collect();
            let Some(middle) = median(ratios.iter().flatten().copied().collect()) else {
                continue;
            };
            let _ = write!(
                out,
                "| {} {} {} |",
                cell.backend,
                rows_text(cell.rows),
                cell.scenario
            );
            for r in &ratios {
                match r {
                    Some(r) => {
                        let _ = write!(out, " {r:.2} |");
                    }
                    None => out.push_str(" – |"),
                }
            }
            let _ = writeln!(out, " **{middle:.2}** |");
        }
    }
    out
}

/// warden's `metric` over the baseline's (the system labelled one of
/// `baseline`) in `run`, for `cell`'s backend, rows and scenario.
fn ratio(run: &[Cell], cell: &Cell, baseline: &[&str], metric: Metric) -> Option<f64> {
    let find = |system: &str| {
        run.iter().find(|c| {
            c.backend == cell.backend
                && c.rows == cell.rows
                && c.scenario == cell.scenario
                && c.system == system
        })
    };
    let other = baseline.iter().find_map(|label| find(label))?;
    let warden = find("warden")?;
    (metric.of(other) > 0.0).then(|| metric.of(warden) / metric.of(other))
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

fn rows_text(rows: u64) -> String {
    match rows {
        r if r >= 1_000_000 && r % 1_000_000 == 0 => format!("{}M", r / 1_000_000),
        r if r >= 1_000 && r % 1_000 == 0 => format!("{}k", r / 1_000),
        r => r.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(system: &str, rps: f64) -> Cell {
        Cell {
            backend: "sqlite".to_owned(),
            rows: 1_000_000,
            scenario: "get_post".to_owned(),
            system: system.to_owned(),
            rps,
            p99_ms: 0.0,
            peak_rss_mib: 0.0,
        }
    }

    #[test]
    fn the_median_of_each_cells_ratios() {
        let runs: Vec<Vec<Cell>> = [
            (80.0, 100.0, 160.0, 2.0),
            (90.0, 100.0, 180.0, 3.0),
            (50.0, 100.0, 200.0, 1.0),
        ]
        .into_iter()
        .map(|(warden, floor, no_auth, fastapi)| {
            vec![
                cell("warden", warden),
                cell("floor (axum+sqlx+JWT)", floor),
                cell("floor, no auth", no_auth),
                cell("FastAPI", fastapi),
            ]
        })
        .collect();
        let table = render(&runs);
        assert!(
            table.contains("| sqlite 1M get_post | 0.80 | 0.90 | 0.50 | **0.80** |"),
            "{table}"
        );
        assert!(
            table.contains("| sqlite 1M get_post | 0.50 | 0.50 | 0.25 | **0.50** |"),
            "{table}"
        );
        assert!(
            table.contains("| sqlite 1M get_post | 40.00 | 30.00 | 50.00 | **40.00** |"),
            "{table}"
        );
    }

    #[test]
    fn a_run_from_before_the_fair_floor_counts_as_the_no_auth_line() {
        let runs = vec![vec![cell("warden", 90.0), cell("floor (axum+sqlx)", 100.0)]];
        let table = render(&runs);
        assert!(
            table.contains("| warden/no-auth floor req/s | run 1 | median |\n|---|---:|---:|\n| sqlite 1M get_post | 0.90 | **0.90** |"),
            "{table}"
        );
        assert!(
            table.contains("| warden/floor req/s | run 1 | median |\n|---|---:|---:|\n\n"),
            "{table}"
        );
    }

    #[test]
    fn pocketbase_gets_req_s_p99_and_peak_rss_ratios() {
        let pocketbase = |rps, p99_ms, peak_rss_mib| Cell {
            p99_ms,
            peak_rss_mib,
            ..cell(POCKETBASE, rps)
        };
        let warden = Cell {
            p99_ms: 2.0,
            peak_rss_mib: 40.0,
            ..cell("warden", 5000.0)
        };
        let runs = vec![
            vec![warden.clone(), pocketbase(1000.0, 20.0, 160.0)],
            vec![warden.clone(), pocketbase(500.0, 50.0, 80.0)],
            vec![warden, pocketbase(250.0, 40.0, 100.0)],
        ];
        let table = render(&runs);
        let head = "| run 1 | run 2 | run 3 | median |\n|---|---:|---:|---:|---:|\n";
        for row in [
            format!(
                "| warden/PocketBase req/s {head}| sqlite 1M get_post | 5.00 | 10.00 | 20.00 | **10.00** |"
            ),
            format!(
                "| warden/PocketBase p99 {head}| sqlite 1M get_post | 0.10 | 0.04 | 0.05 | **0.05** |"
            ),
            format!(
                "| warden/PocketBase peak RSS {head}| sqlite 1M get_post | 0.25 | 0.50 | 0.40 | **0.40** |"
            ),
        ] {
            assert!(table.contains(&row), "{table}");
        }
    }

    #[test]
    fn an_even_count_takes_the_mean_of_the_middle_two() {
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(Vec::new()), None);
    }
}
