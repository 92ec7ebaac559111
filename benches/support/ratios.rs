//! The budget ratios of `benches/exchange.rs` over several runs. One criterion run of a pair
//! (exchange, verify) gives one ratio, and on a shared machine that ratio moves from run to run
//! by more than the margin of a budget. So each pair is measured `BENCH_RUNS` times, the runs
//! of all pairs interleaved (so that every pair sees the machine at several moments), and the
//! report gives the median, min and max of each ratio; the verdict is on the median, with a
//! warning when the budget lies inside the spread of the runs.
//!
//! Each run is a criterion group of its own, `<case> run <n>` (criterion would otherwise
//! rename a repeated benchmark), and the figures are the medians criterion itself wrote for it
//! (its `new/estimates.json`), read right after the run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::Value;

/// Runs of each pair when `BENCH_RUNS` is not set.
const DEFAULT_RUNS: usize = 5;

/// How many runs of each pair: `BENCH_RUNS` (default 5). One when criterion is not
/// benchmarking (`cargo test --benches` runs each benchmark once, as a test).
pub fn runs() -> usize {
    if !std::env::args().any(|arg| arg == "--bench") {
        return 1;
    }
    match std::env::var("BENCH_RUNS") {
        Err(_) => DEFAULT_RUNS,
        Ok(value) => match value.parse() {
            Ok(n) if n >= 1 => n,
            _ => panic!("BENCH_RUNS must be a whole number of runs, at least 1 (got {value:?})"),
        },
    }
}

/// `cases` `runs` times over, interleaved: every case once, then every case again, …
pub fn interleaved<T: Copy>(runs: usize, cases: &[T]) -> impl Iterator<Item = T> + '_ {
    (0..runs).flat_map(move |_| cases.iter().copied())
}

/// The medians of each run, collected as criterion finishes each group.
pub struct Ratios {
    dir: PathBuf,
    /// Runs started per case.
    started: HashMap<&'static str, usize>,
    /// The group being measured: its case, its name, and when its estimates were last written
    /// before it started (by an earlier invocation, or never).
    current: Option<(&'static str, String, [Option<SystemTime>; 2])>,
    runs: Vec<Run>,
}

struct Run {
    case: &'static str,
    exchange_ns: f64,
    verify_ns: f64,
}

impl Ratios {
    pub fn new() -> Ratios {
        Ratios {
            dir: criterion_home(),
            started: HashMap::new(),
            current: None,
            runs: Vec::new(),
        }
    }

    /// The name of the criterion group for the next run of `case`: `<case> run <n>`.
    pub fn group(&mut self, case: &'static str) -> String {
        let run = self.started.entry(case).or_default();
        *run += 1;
        let name = format!("{case} run {run}");
        let before = BENCHMARKS.map(|id| modified(&self.estimates(&name, id)));
        self.current = Some((case, name.clone(), before));
        name
    }

    /// Right after criterion finished the group: its `exchange` and `verify` medians. Nothing
    /// is recorded when either was not measured (filtered out, or not benchmarking).
    pub fn record(&mut self) {
        let Some((case, group, before)) = self.current.take() else {
            return;
        };
        // Written by this run: the file changed since the group started. (Not "newer than the
        // start": file times come from a coarser clock than `SystemTime::now`.)
        let [exchange, verify] = [0, 1].map(|i| {
            let path = self.estimates(&group, BENCHMARKS[i]);
            let written = modified(&path);
            (written.is_some() && written != before[i]).then(|| median(&path))?
        });
        if let (Some(exchange_ns), Some(verify_ns)) = (exchange, verify) {
            self.runs.push(Run {
                case,
                exchange_ns,
                verify_ns,
            });
        }
    }

    fn estimates(&self, group: &str, benchmark: &str) -> PathBuf {
        self.dir
            .join(group)
            .join(benchmark)
            .join("new/estimates.json")
    }

    /// Prints each case's ratio over the runs and the verdicts; true when every case passes.
    pub fn report(&self, cases: &[&str], budget: f64) -> bool {
        println!("\n== warm exchange vs one verify of its subject token (criterion medians)");
        println!(
            "budget: exchange (signing excluded) <= {budget:.1} x verify, on the median ratio \
             of the runs"
        );
        if self.runs.is_empty() {
            println!("verdict: none, nothing was measured (filtered out, or not benchmarking)");
            return false;
        }
        let mut all_pass = true;
        let mut warnings = 0;
        for &case in cases {
            let runs: Vec<&Run> = self.runs.iter().filter(|r| r.case == case).collect();
            let Some(summary) = Summary::of(&runs) else {
                all_pass = false;
                println!("{case}: not measured (filtered out, or not benchmarking)");
                continue;
            };
            let pass = summary.ratio.median <= budget;
            all_pass &= pass;
            let spread = match runs.len() {
                1 => "1 run".to_owned(),
                n => format!(
                    "min {:.2}, max {:.2}, ±{:.0} % over {n} runs",
                    summary.ratio.min,
                    summary.ratio.max,
                    summary.ratio.half_spread_percent()
                ),
            };
            println!(
                "{case}: ratio {:.2} ({spread}) -> {}",
                summary.ratio.median,
                if pass { "PASS" } else { "FAIL" },
            );
            println!(
                "  medians of the runs: exchange {:.1} us, verify {:.1} us; ratio per run: {}",
                summary.exchange_ns / 1000.0,
                summary.verify_ns / 1000.0,
                runs.iter()
                    .map(|r| format!("{:.2}", r.exchange_ns / r.verify_ns))
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            if runs.len() == 1 {
                println!("  warning: one run has no spread; BENCH_RUNS=5 (the default) shows it");
                warnings += 1;
            } else if summary.ratio.min <= budget && budget < summary.ratio.max {
                println!(
                    "  warning: the budget {budget:.2} lies within the spread of the runs \
                     ({:.2}..{:.2}): this verdict is within run-to-run noise",
                    summary.ratio.min, summary.ratio.max
                );
                warnings += 1;
            }
        }
        println!(
            "verdict: {}{}",
            if all_pass { "PASS" } else { "FAIL" },
            match warnings {
                0 => String::new(),
                n => format!(" ({n} warning{})", if n == 1 { "" } else { "s" }),
            }
        );
        all_pass
    }
}

impl Ratios {
    /// What `case` adds to `base`'s exchange, in verifies of `base`'s subject token: per run
    /// (the runs of both are interleaved, so run n of each saw the machine at one moment),
    /// `(exchange(case) - exchange(base)) / verify(base)`; the verdict is on the median.
    pub fn report_added(&self, case: &str, base: &str, what: &str, budget: f64) -> bool {
        let runs =
            |name: &str| -> Vec<&Run> { self.runs.iter().filter(|r| r.case == name).collect() };
        let (with, without) = (runs(case), runs(base));
        let added: Vec<f64> = with
            .iter()
            .zip(&without)
            .map(|(w, b)| (w.exchange_ns - b.exchange_ns) / b.verify_ns)
            .collect();
        println!("\n== {what}: added to the warm exchange, in verifies of its subject token");
        let Some(spread) = Spread::of(&added) else {
            println!("{case}: not measured (filtered out, or not benchmarking)");
            return false;
        };
        let pass = spread.median <= budget;
        println!(
            "{case}: adds {:.3} x verify (min {:.3}, max {:.3} over {} runs; budget {budget:.2}) -> {}",
            spread.median,
            spread.min,
            spread.max,
            added.len(),
            if pass { "PASS" } else { "FAIL" },
        );
        pass
    }
}

impl Ratios {
    /// The median of `benchmark` of criterion group `group` as criterion last wrote it, in ns.
    pub fn median_of(&self, group: &str, benchmark: &str) -> Option<f64> {
        median(&self.estimates(group, benchmark))
    }

    /// `case`'s exchange with one in-process signature (`sign_ns`, measured on its own) taken
    /// off, in verifies of its subject token, per run; the verdict is on the median. The
    /// envelope exchange's own work, next to the budget of an exchange whose signer costs
    /// nothing.
    pub fn report_without_sign(&self, case: &str, sign_ns: f64, budget: f64) -> bool {
        let ratios: Vec<f64> = (self.runs.iter().filter(|r| r.case == case))
            .map(|r| (r.exchange_ns - sign_ns) / r.verify_ns)
            .collect();
        let Some(spread) = Spread::of(&ratios) else {
            println!("{case}: not measured (filtered out, or not benchmarking)");
            return false;
        };
        let pass = spread.median <= budget;
        println!(
            "{case}: (exchange - one sign of {:.1} us) = {:.2} x verify (min {:.2}, max {:.2} \
             over {} runs; budget {budget:.1}) -> {}",
            sign_ns / 1000.0,
            spread.median,
            spread.min,
            spread.max,
            ratios.len(),
            if pass { "PASS" } else { "FAIL" },
        );
        pass
    }
}

/// The two benchmarks of each group.
const BENCHMARKS: [&str; 2] = ["exchange", "verify"];

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The point estimate of the median in a criterion `estimates.json`, in nanoseconds.
fn median(path: &Path) -> Option<f64> {
    let estimates: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    estimates["median"]["point_estimate"].as_f64()
}

/// One case over its runs.
struct Summary {
    ratio: Spread,
    exchange_ns: f64,
    verify_ns: f64,
}

impl Summary {
    fn of(runs: &[&Run]) -> Option<Summary> {
        let ratios: Vec<f64> = runs.iter().map(|r| r.exchange_ns / r.verify_ns).collect();
        Some(Summary {
            ratio: Spread::of(&ratios)?,
            exchange_ns: Spread::of(&runs.iter().map(|r| r.exchange_ns).collect::<Vec<_>>())?
                .median,
            verify_ns: Spread::of(&runs.iter().map(|r| r.verify_ns).collect::<Vec<_>>())?.median,
        })
    }
}

/// Median, min and max of a few figures.
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

impl Spread {
    fn of(values: &[f64]) -> Option<Spread> {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = match n {
            0 => return None,
            _ if n % 2 == 1 => sorted[n / 2],
            _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        Some(Spread {
            median,
            min: sorted[0],
            max: sorted[n - 1],
        })
    }

    /// Half the range, as a percentage of the median.
    fn half_spread_percent(&self) -> f64 {
        (self.max - self.min) / 2.0 / self.median * 100.0
    }
}

/// Where criterion writes its results, found as criterion finds it: `CRITERION_HOME`, else
/// `criterion/` in the cargo target directory (`CARGO_TARGET_DIR`, else `cargo metadata`'s,
/// which follows `build.target-dir`), else `target/criterion`.
fn criterion_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            let cargo = std::env::var_os("CARGO")?;
            let output = std::process::Command::new(cargo)
                .args(["metadata", "--format-version", "1", "--no-deps"])
                .output()
                .ok()?;
            let metadata: Value = serde_json::from_slice(&output.stdout).ok()?;
            metadata["target_directory"].as_str().map(PathBuf::from)
        });
    target_dir.map_or_else(
        || PathBuf::from("target/criterion"),
        |dir| dir.join("criterion"),
    )
}
