//! The fuzz targets' bodies (`fuzz/bodies/`) run in CI without libFuzzer:
//! over every seed and regression input, then over a bounded number of
//! deterministic mutations of them (byte flips, truncations, splices and
//! insertions of the targets' dictionary tokens). Their own oracles decide
//! (no panic, no value pasted into SQL, specialisation agreeing with the
//! evaluator). The long coverage-guided runs are `cargo fuzz run …`
//! (docs/fuzzing.md); this keeps the targets and their oracles honest on
//! every commit. `WARDEN_FUZZ_REPLAY_CASES` sets the mutations per target.

#[path = "../../../fuzz/bodies/config.rs"]
mod config;
#[path = "../../../fuzz/bodies/filter.rs"]
mod filter;
#[path = "../../../fuzz/bodies/parse_check.rs"]
mod parse_check;

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<Vec<u8>> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            found.extend(files(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            found.push(bytes);
        }
    }
    found
}

/// The quoted tokens of a libFuzzer dictionary.
fn dictionary(name: &str) -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string(fuzz_dir().join(format!("{name}.dict"))).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let start = line.find('"')?;
            let end = line.rfind('"')?;
            (end > start + 1).then(|| line[start + 1..end].replace("\\\"", "\"").into_bytes())
        })
        .collect()
}

/// xorshift64: the same mutations on every run, so a failure replays.
struct Mutator(u64);

impl Mutator {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }

    fn mutate(&mut self, corpus: &[Vec<u8>], tokens: &[Vec<u8>]) -> Vec<u8> {
        let mut input = corpus[self.below(corpus.len())].clone();
        for _ in 0..=self.below(4) {
            let at = self.below(input.len() + 1);
            match self.below(5) {
                0 if !input.is_empty() => {
                    let i = self.below(input.len());
                    input[i] ^= 1 << self.below(8);
                }
                1 => input.truncate(at),
                2 if !tokens.is_empty() => {
                    let token = &tokens[self.below(tokens.len())];
                    input.splice(at..at, token.iter().copied());
                }
                3 => {
                    let other = &corpus[self.below(corpus.len())];
                    let from = self.below(other.len() + 1);
                    input.splice(at..at, other[from..].iter().copied());
                }
                _ => {
                    let end = (at + self.below(8)).min(input.len());
                    input.drain(at..end);
                }
            }
        }
        input
    }
}

fn cases() -> usize {
    std::env::var("WARDEN_FUZZ_REPLAY_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3_000)
}

/// The corpus of `target` (its seeds and every regression), then mutations.
fn replay(target: &str, run: fn(&[u8])) {
    replay_with(target, run, run);
}

/// [`replay`] with the corpus run by `run` and the mutations by `mutated`.
fn replay_with(target: &str, run: fn(&[u8]), mutated: fn(&[u8])) {
    let mut corpus = files(&fuzz_dir().join("seeds").join(target));
    corpus.extend(files(&fuzz_dir().join("regressions")));
    assert!(!corpus.is_empty(), "no seeds for {target}");
    let tokens = dictionary(target);
    for input in &corpus {
        run(input);
    }
    let mut mutator = Mutator(0x9E37_79B9_7F4A_7C15);
    for _ in 0..cases() {
        let input = mutator.mutate(&corpus, &tokens);
        mutated(&input);
    }
    eprintln!(
        "{target}: {} seeds and {} mutations replayed",
        corpus.len(),
        cases()
    );
}

#[test]
fn parse_check_target_holds_on_seeds_and_mutations() {
    replay("parse_check", parse_check::run);
}

#[test]
fn filter_target_holds_on_seeds_and_mutations() {
    // The database oracle lists 100,000 rows per accepted input: the
    // corpus gets it, the mutations the in-memory oracles only.
    replay_with("filter", filter::run, filter::run_without_database);
}

#[test]
fn config_target_holds_on_seeds_and_mutations() {
    replay("config", config::run);
}
