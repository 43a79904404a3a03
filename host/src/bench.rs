//! `wasm-lambda bench`: cold-start and warm-invoke figures for components,
//! side by side, optionally against the same handler in a native process.
//!
//! A *cold start* is what a Lambda user waits for on a new execution
//! environment: a fresh sandbox (store, WASI context, instance from the
//! pre-linked component, in a pooling-allocator slot) plus the first call,
//! measured around [`Function::invoke`] with instance reuse off. A *warm
//! invoke* is the same call on an instance kept from the previous one. The
//! component is loaded (from the artifact cache) once, before timing.
//!
//! ```no_run
//! use wasm_lambda::bench::{BenchOptions, bench_component};
//! use wasm_lambda::{Host, HostConfig};
//!
//! # async fn run() -> anyhow::Result<()> {
//! let host = Host::new(HostConfig::default())?;
//! let options = BenchOptions::new(r#"{"action":"increment","number":3}"#, 500);
//! let result = bench_component(&host, "calculator.wasm".as_ref(), &options, &mut |_| {}).await?;
//! println!("cold p50 {:.1} µs", result.cold.p50_us);
//! # Ok(())
//! # }
//! ```

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde::Serialize;

use crate::{FunctionConfig, Host, InvokeRequest};

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The event every invocation gets.
    pub event: String,
    /// Timed invocations per measurement (cold, warm and native each).
    pub iterations: usize,
    /// Untimed invocations before each measurement.
    pub warmup: usize,
    /// Settings every measured function gets (grants, mounts, credentials,
    /// memory, ...); its name and component are replaced by the measured
    /// component's. Lambda's defaults when `None`.
    pub template: Option<FunctionConfig>,
}

impl BenchOptions {
    /// `iterations` timed runs of `event`, after a short warm-up.
    pub fn new(event: impl Into<String>, iterations: usize) -> Self {
        BenchOptions {
            event: event.into(),
            iterations,
            warmup: iterations.clamp(1, 20),
            template: None,
        }
    }

    fn config(&self, name: &str, component: &Path) -> FunctionConfig {
        match &self.template {
            Some(template) => FunctionConfig {
                name: name.to_string(),
                component: component.to_path_buf(),
                ..template.clone()
            },
            None => FunctionConfig::new(name, component),
        }
    }
}

/// A distribution of timings, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stats {
    /// The fastest run.
    pub min_us: f64,
    /// The median.
    pub p50_us: f64,
    /// The 90th percentile.
    pub p90_us: f64,
    /// The 99th percentile.
    pub p99_us: f64,
    /// The mean.
    pub mean_us: f64,
}

impl Stats {
    /// Summarises `samples` (nearest-rank percentiles); `None` when empty.
    pub fn from_samples(samples: &[Duration]) -> Option<Stats> {
        if samples.is_empty() {
            return None;
        }
        let mut micros: Vec<f64> = samples
            .iter()
            .map(|sample| sample.as_secs_f64() * 1e6)
            .collect();
        micros.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let index = ((p / 100.0) * micros.len() as f64).ceil() as usize;
            micros[index.clamp(1, micros.len()) - 1]
        };
        Some(Stats {
            min_us: micros[0],
            p50_us: rank(50.0),
            p90_us: rank(90.0),
            p99_us: rank(99.0),
            mean_us: micros.iter().sum::<f64>() / micros.len() as f64,
        })
    }
}

/// The figures for one component.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    /// The component, as given.
    pub component: PathBuf,
    /// The language runtime its build recorded (`rust`, `python3.14`, ...),
    /// or `unknown`.
    pub language: String,
    /// Timed runs per measurement.
    pub iterations: usize,
    /// Loading the function (artifact cache hit or compile, linking), once.
    pub load_us: f64,
    /// Fresh sandbox plus first call.
    pub cold: Stats,
    /// A call on a reused instance.
    pub warm: Stats,
    /// Minor page faults of the process per cold start, on average: the
    /// memory a fresh sandbox touches for the first time (copy-on-write
    /// pages of the component's image, zeroed heap).
    pub cold_faults: f64,
    /// The same per warm invoke.
    pub warm_faults: f64,
    /// The native command's runs, when one was given.
    pub native: Option<NativeStats>,
    /// Cold starts taken in turn with the other components' ([`bench_mixed`]),
    /// when asked for.
    pub mixed: Option<Stats>,
}

/// A native baseline: the same handler in a fresh process per run.
#[derive(Debug, Clone, Serialize)]
pub struct NativeStats {
    /// The command, as given.
    pub command: String,
    /// Its wall-clock timings.
    pub stats: Stats,
    /// Native p50 over wasm-lambda's cold p50: how many times faster the
    /// sandbox starts.
    pub ratio: f64,
}

/// Measures one component: loads it once, then `iterations` cold starts and
/// `iterations` warm invokes. `progress` is called after every timed run
/// with the phase's name.
pub async fn bench_component(
    host: &Host,
    component: &Path,
    options: &BenchOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<BenchResult> {
    if options.iterations == 0 {
        bail!("--iterations must be at least 1");
    }
    let name = component.file_stem().map_or_else(
        || "function".into(),
        |stem| stem.to_string_lossy().into_owned(),
    );
    let load_started = Instant::now();
    let cold_function = host
        .load(options.config(&name, component))
        .map_err(anyhow::Error::from)
        .with_context(|| format!("failed to load {}", component.display()))?;
    let load = load_started.elapsed();
    let mut warm_config = options.config(&name, component);
    warm_config.reuse_instances = true;
    let warm_function = host
        .load(warm_config)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("failed to load {}", component.display()))?;

    let (cold, cold_faults) = time_invocations(&cold_function, options, "cold", progress).await?;
    let (warm, warm_faults) = time_invocations(&warm_function, options, "warm", progress).await?;

    Ok(BenchResult {
        component: component.to_path_buf(),
        language: cold_function.runtime().unwrap_or("unknown").to_string(),
        iterations: options.iterations,
        load_us: load.as_secs_f64() * 1e6,
        cold: Stats::from_samples(&cold).expect("at least one run"),
        warm: Stats::from_samples(&warm).expect("at least one run"),
        cold_faults,
        warm_faults,
        native: None,
        mixed: None,
    })
}

/// Measures the cold starts of several components taken in turn, as `serve`
/// meets them with many functions: round after round, each component gets one
/// cold start, so the pool slot, the caches and the branch predictors it
/// meets were last used by another component. Returns one distribution per
/// component, in order; compare each with its back-to-back
/// [`BenchResult::cold`].
pub async fn bench_mixed(
    host: &Host,
    components: &[PathBuf],
    options: &BenchOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<Stats>> {
    if options.iterations == 0 {
        bail!("--iterations must be at least 1");
    }
    let mut functions = Vec::with_capacity(components.len());
    for (index, component) in components.iter().enumerate() {
        let function = host
            .load(options.config(&format!("mixed-{index}"), component))
            .map_err(anyhow::Error::from)
            .with_context(|| format!("failed to load {}", component.display()))?;
        functions.push(function);
    }
    let mut samples = vec![Vec::with_capacity(options.iterations); functions.len()];
    for round in 0..options.warmup + options.iterations {
        for (function, samples) in functions.iter().zip(&mut samples) {
            let elapsed = timed_invoke(function, InvokeRequest::new(options.event.clone())).await?;
            if round >= options.warmup {
                samples.push(elapsed);
                progress("mixed");
            }
        }
    }
    Ok(samples
        .iter()
        .map(|samples| Stats::from_samples(samples).expect("at least one run"))
        .collect())
}

/// Times `options.iterations` invocations of `function` after
/// `options.warmup` untimed ones; also returns the mean minor page faults
/// per timed invocation.
async fn time_invocations(
    function: &crate::Function,
    options: &BenchOptions,
    phase: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<(Vec<Duration>, f64)> {
    let mut samples = Vec::with_capacity(options.iterations);
    let mut faults = 0;
    for run in 0..options.warmup + options.iterations {
        let request = InvokeRequest::new(options.event.clone());
        let faults_before = minor_faults();
        let elapsed = timed_invoke(function, request).await?;
        if run >= options.warmup {
            samples.push(elapsed);
            faults += minor_faults().saturating_sub(faults_before);
            progress(phase);
        }
    }
    let mean_faults = faults as f64 / samples.len().max(1) as f64;
    Ok((samples, mean_faults))
}

/// Times one invocation of `function`, from the call to its answer. A
/// function error is a fine thing to benchmark (error paths have cold starts
/// too); a refused request is not.
async fn timed_invoke(function: &crate::Function, request: InvokeRequest) -> Result<Duration> {
    let started = Instant::now();
    function
        .invoke(request)
        .await
        .map_err(|error| anyhow::anyhow!("the invocation was refused: {error}"))?;
    Ok(started.elapsed())
}

/// The process's minor page faults so far (every thread's: the invocation
/// may run on any of the runtime's).
fn minor_faults() -> u64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a whole `rusage` into the pointer it is
    // given, which points at one; RUSAGE_SELF is always valid.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    u64::try_from(usage.ru_minflt).unwrap_or(0)
}

/// The two halves of one cold start, for finer benchmarks than
/// [`bench_component`]: `instantiate` creates the fresh sandbox (pool slot,
/// store, WASI context, instance of the pre-linked component), `first_call`
/// is the handler's first call in it. The invocation's bookkeeping (event
/// check, request id, log lines, report) is in neither.
#[derive(Debug, Clone, Copy)]
pub struct ColdPhases {
    /// Creating the sandbox.
    pub instantiate: Duration,
    /// The first call.
    pub first_call: Duration,
}

/// Runs one cold start of `function` with `event` and times its phases. A
/// handler error is an error here: benchmark events should succeed.
pub async fn cold_phases(function: &crate::Function, event: &str) -> Result<ColdPhases> {
    let (instantiate, first_call) = function.time_cold_start(event).await?;
    Ok(ColdPhases {
        instantiate,
        first_call,
    })
}

/// Runs `command` `iterations` times, each in a fresh process with the event
/// on stdin, and times each run from spawn to exit. A run that fails stops
/// the measurement with its stderr.
///
/// The command is split into words as a shell splits them (quotes and
/// backslashes), and its program is spawned directly: a shell started for
/// every run would add its own start-up to the native figure and flatter
/// the ratio. A baseline that needs a shell (a pipe, a redirection) says so
/// with `sh -c '...'`.
pub fn bench_native(
    command: &str,
    event: &str,
    iterations: usize,
    progress: &mut dyn FnMut(&str),
) -> Result<Stats> {
    let words = shlex::split(command)
        .with_context(|| format!("cannot split the native command {command:?} into words"))?;
    let Some((program, arguments)) = words.split_first() else {
        bail!("the native command is empty");
    };
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        let mut child = Command::new(program)
            .args(arguments)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("failed to run {command:?}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A command that ignores its stdin may exit before reading it.
            let _ = stdin.write_all(event.as_bytes());
        }
        let output = child.wait_with_output()?;
        samples.push(started.elapsed());
        if !output.status.success() {
            bail!(
                "the native command {command:?} failed ({}):\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim_end()
            );
        }
        progress("native");
    }
    Stats::from_samples(&samples).context("--iterations must be at least 1")
}

impl BenchResult {
    /// Adds a native baseline and its ratio to this result.
    pub fn with_native(mut self, command: &str, stats: Stats) -> Self {
        self.native = Some(NativeStats {
            command: command.to_string(),
            ratio: stats.p50_us / self.cold.p50_us,
            stats,
        });
        self
    }

    /// The flat JSON object `--json` prints for this result.
    pub fn to_json(&self) -> serde_json::Value {
        let mut object = serde_json::json!({
            "component": self.component.to_string_lossy(),
            "language": self.language,
            "iterations": self.iterations,
            "load_us": round(self.load_us),
            "cold_min_us": round(self.cold.min_us),
            "cold_p50_us": round(self.cold.p50_us),
            "cold_p90_us": round(self.cold.p90_us),
            "cold_p99_us": round(self.cold.p99_us),
            "cold_mean_us": round(self.cold.mean_us),
            "warm_min_us": round(self.warm.min_us),
            "warm_p50_us": round(self.warm.p50_us),
            "warm_p90_us": round(self.warm.p90_us),
            "warm_p99_us": round(self.warm.p99_us),
            "warm_mean_us": round(self.warm.mean_us),
            "cold_minor_faults": round(self.cold_faults),
            "warm_minor_faults": round(self.warm_faults),
        });
        if let Some(native) = &self.native {
            object["native_command"] = native.command.clone().into();
            object["native_p50_us"] = round(native.stats.p50_us).into();
            object["native_p99_us"] = round(native.stats.p99_us).into();
            object["native_ratio"] = round(native.ratio).into();
        }
        if let Some(mixed) = &self.mixed {
            object["mixed_p50_us"] = round(mixed.p50_us).into();
            object["mixed_p99_us"] = round(mixed.p99_us).into();
            object["mixed_ratio"] = round(mixed.p50_us / self.cold.p50_us).into();
        }
        object
    }
}

/// Rounds to 0.01 µs, enough for any figure here and easier to read.
fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// A duration in µs, shown in the unit that reads best.
pub fn human(micros: f64) -> String {
    if micros >= 1_000_000.0 {
        format!("{:.2} s", micros / 1e6)
    } else if micros >= 10_000.0 {
        format!("{:.1} ms", micros / 1000.0)
    } else if micros >= 1000.0 {
        format!("{:.2} ms", micros / 1000.0)
    } else {
        format!("{micros:.1} µs")
    }
}

/// The table `wasm-lambda bench` prints: one row per component.
pub fn render_table(results: &[BenchResult]) -> String {
    let mut rows = vec![vec![
        "component".to_string(),
        "language".into(),
        "cold min".into(),
        "cold p50".into(),
        "cold p90".into(),
        "cold p99".into(),
        "cold mean".into(),
        "warm p50".into(),
        "warm p99".into(),
        "cold faults".into(),
    ]];
    let with_native = results.iter().any(|result| result.native.is_some());
    if with_native {
        rows[0].extend(["native p50".into(), "native / cold".into()]);
    }
    let with_mixed = results.iter().any(|result| result.mixed.is_some());
    if with_mixed {
        rows[0].extend(["mixed p50".into(), "mixed / cold".into()]);
    }
    for result in results {
        let mut row = vec![
            result.component.to_string_lossy().into_owned(),
            result.language.clone(),
            human(result.cold.min_us),
            human(result.cold.p50_us),
            human(result.cold.p90_us),
            human(result.cold.p99_us),
            human(result.cold.mean_us),
            human(result.warm.p50_us),
            human(result.warm.p99_us),
            format!("{:.0}", result.cold_faults),
        ];
        if with_native {
            match &result.native {
                Some(native) => {
                    row.push(human(native.stats.p50_us));
                    row.push(format!("{:.0}×", native.ratio));
                }
                None => row.extend(["-".into(), "-".into()]),
            }
        }
        if with_mixed {
            match &result.mixed {
                Some(mixed) => {
                    row.push(human(mixed.p50_us));
                    row.push(format!("{:.2}×", mixed.p50_us / result.cold.p50_us));
                }
                None => row.extend(["-".into(), "-".into()]),
            }
        }
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|column| {
            rows.iter()
                .map(|row| row[column].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut table = String::new();
    for (index, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(column, (cell, width))| {
                let pad = width - cell.chars().count();
                // Names left, figures right.
                if column < 2 {
                    format!("{cell}{}", " ".repeat(pad))
                } else {
                    format!("{}{cell}", " ".repeat(pad))
                }
            })
            .collect();
        table.push_str(cells.join("  ").trim_end());
        table.push('\n');
        if index == 0 {
            let rule: Vec<String> = widths.iter().map(|width| "-".repeat(*width)).collect();
            table.push_str(&rule.join("  "));
            table.push('\n');
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        let stats = Stats::from_samples(&samples).unwrap();
        assert_eq!(stats.min_us, 1.0);
        assert_eq!(stats.p50_us, 50.0);
        assert_eq!(stats.p90_us, 90.0);
        assert_eq!(stats.p99_us, 99.0);
        assert_eq!(stats.mean_us, 50.5);
        assert_eq!(Stats::from_samples(&[]), None);
        let one = Stats::from_samples(&[Duration::from_micros(7)]).unwrap();
        assert_eq!((one.min_us, one.p50_us, one.p99_us), (7.0, 7.0, 7.0));
    }
}
