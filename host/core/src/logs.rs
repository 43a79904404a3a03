//! The function's log: guest stdout and stderr captured per invocation, and
//! the `START`/`END`/`REPORT` lines Lambda writes around each invocation.

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

use crate::logging::{LogLevel, LoggingConfig};

/// Receives the function's log as it is written: guest output and the host's
/// `START`/`END`/`REPORT` lines, in order. Used to stream logs to a terminal
/// or a server log while the invocation runs.
pub type LogSink = Arc<dyn Fn(&[u8]) + Send + Sync>;

/// A sink that writes to the host process's stderr, as the caller writes
/// (for a one-shot command such as `wasm-lambda invoke`, whose lines must
/// all be out before it exits).
pub fn stderr_sink() -> LogSink {
    Arc::new(|bytes: &[u8]| {
        use std::io::Write;
        let mut stderr = std::io::stderr().lock();
        // A closed stderr must not fail the invocation.
        let _ = stderr.write_all(bytes);
        let _ = stderr.flush();
    })
}

/// Receives one invocation's own lines as they are written: the guest's
/// output (after the JSON format's level filter) and the host's lines about
/// the invocation (a timeout, a crash), whole lines; never `START`, `END` or
/// `REPORT`. A server publishes them to Telemetry API subscribers while the
/// invocation runs
/// (`extensions::a_telemetry_subscription_gets_each_line_while_the_invocation_runs`).
#[derive(Clone)]
pub struct LineTap(pub LogSink);

impl fmt::Debug for LineTap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LineTap")
    }
}

/// How many writes a [`QueuedSink`] may hold for its writer; beyond that
/// they are dropped and counted.
const QUEUED_WRITES: usize = 4096;

/// How many bytes of queued writes a [`QueuedSink`]'s writer gathers into one
/// write of its output.
const BATCH_BYTES: usize = 64 * 1024;

/// How long a [`QueuedSink`]'s writer lets lines gather after a write: the
/// most a line waits before it is written.
const GATHER: std::time::Duration = std::time::Duration::from_millis(2);

/// A sink for a server: invocations hand their log writes to a queue and a
/// thread of its own writes them out, so a slow reader of the output (a
/// full pipe, a stalled terminal) never makes an invocation wait. When the
/// queue is full a write is dropped, and the writer says how many were
/// before its next line
/// (`faults::a_reader_that_reads_no_output_stalls_no_invocation`).
pub struct QueuedSink {
    sender: std::sync::mpsc::SyncSender<Vec<u8>>,
    /// Writes queued and not yet written.
    pending: Arc<std::sync::atomic::AtomicUsize>,
    dropped: Arc<std::sync::atomic::AtomicU64>,
}

impl QueuedSink {
    /// A queue in front of `output`, written by a thread of its own.
    pub fn new(mut output: impl std::io::Write + Send + 'static) -> QueuedSink {
        use std::io::Write as _;
        use std::sync::atomic::Ordering;
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<u8>>(QUEUED_WRITES);
        let pending = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let dropped = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (written, lost) = (pending.clone(), dropped.clone());
        let spawned = std::thread::Builder::new()
            .name("wasm-lambda-log".into())
            .spawn(move || {
                let mut batch: Vec<u8> = Vec::with_capacity(BATCH_BYTES);
                while let Ok(first) = receiver.recv() {
                    let missed = lost.swap(0, Ordering::Relaxed);
                    if missed > 0 {
                        let _ = writeln!(
                            batch,
                            "wasm-lambda: {missed} log writes dropped: the reader of this output \
                             was too slow"
                        );
                    }
                    // What queued up while the last batch was written goes out in
                    // one write: a server's invocations give three lines each
                    // (START, END, REPORT), one system call for all of them.
                    batch.extend_from_slice(&first);
                    let mut taken = 1;
                    while batch.len() < BATCH_BYTES {
                        let Ok(bytes) = receiver.try_recv() else {
                            break;
                        };
                        batch.extend_from_slice(&bytes);
                        taken += 1;
                    }
                    let _ = output.write_all(&batch);
                    let _ = output.flush();
                    batch.clear();
                    batch.shrink_to(BATCH_BYTES);
                    written.fetch_sub(taken, Ordering::Release);
                    // Gather for a moment before the next batch. A writer
                    // waiting in `recv` is woken by every line an invocation
                    // sends, a system call and a thread switch on the
                    // invocation's path; a sleeping one is not, so under load
                    // lines go out every GATHER, with no wake-up per line.
                    std::thread::sleep(GATHER);
                }
            });
        if let Err(error) = spawned {
            tracing::warn!(
                "wasm-lambda: no log writer thread ({error}): function logs are dropped"
            );
        }
        QueuedSink {
            sender,
            pending,
            dropped,
        }
    }

    /// A queue in front of this process's stderr.
    pub fn stderr() -> QueuedSink {
        QueuedSink::new(std::io::stderr())
    }

    /// The sink to give a [`crate::HostConfig`].
    pub fn sink(&self) -> LogSink {
        use std::sync::atomic::Ordering;
        let sender = self.sender.clone();
        let (pending, dropped) = (self.pending.clone(), self.dropped.clone());
        Arc::new(move |bytes: &[u8]| {
            pending.fetch_add(1, Ordering::AcqRel);
            if sender.try_send(bytes.to_vec()).is_err() {
                pending.fetch_sub(1, Ordering::AcqRel);
                dropped.fetch_add(1, Ordering::Relaxed);
            }
        })
    }

    /// Waits up to `timeout` for what is queued to be written (at shutdown).
    pub fn drain(&self, timeout: std::time::Duration) {
        let until = std::time::Instant::now() + timeout;
        while self.pending.load(std::sync::atomic::Ordering::Acquire) > 0
            && std::time::Instant::now() < until
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

/// How much of one invocation's log is kept in memory. Beyond it the oldest
/// output is dropped: the tail is what `REPORT` readers and
/// `X-Amz-Log-Result` (last 4 KB) want.
const CAPTURE_LIMIT: usize = 1 << 20;

/// How long a line without its newline may grow before the sink gets it
/// anyway.
const PARTIAL_LINE_LIMIT: usize = 64 * 1024;

struct Captured {
    bytes: Vec<u8>,
    sink: Option<LogSink>,
    /// The invocation's [`LineTap`]: the function's own lines, without
    /// `START`/`END`/`REPORT`.
    tap: Option<LogSink>,
    /// Guest output after its last newline, not sent to the sink yet: the
    /// sink gets whole lines, so that the lines of invocations running at
    /// once (a server's log) do not break into each other
    /// (`logs::tests::concurrent_pipes_give_the_sink_whole_lines`). With a
    /// filter it is not captured yet either: a line is kept or dropped
    /// whole.
    partial: Vec<u8>,
    /// The JSON format's application log level, when it can drop lines
    /// (`logs::tests::a_filtered_pipe_drops_records_below_the_level_whole`).
    filter: Option<LoggingConfig>,
}

impl Captured {
    /// Hands whole lines of the function's own output to the sink and the
    /// tap.
    fn send(&self, lines: &[u8]) {
        if let Some(sink) = &self.sink {
            sink(lines);
        }
        if let Some(tap) = &self.tap {
            tap(lines);
        }
    }

    fn capture(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
        if self.bytes.len() > 2 * CAPTURE_LIMIT {
            let excess = self.bytes.len() - CAPTURE_LIMIT;
            self.bytes.drain(..excess);
        }
    }

    /// Sends the unfinished line, ended, to the sink (with a filter, when
    /// the filter keeps it; it is captured then, as it was written).
    fn flush_partial(&mut self) {
        if self.partial.is_empty() {
            return;
        }
        let mut line = std::mem::take(&mut self.partial);
        if let Some(filter) = &self.filter {
            if !filter.keeps_line(&line) {
                return;
            }
            self.capture(&line);
        }
        line.push(b'\n');
        self.send(&line);
    }

    /// Guest output through a filter: whole lines, each kept (captured and
    /// sent to the sink) or dropped.
    fn write_filtered(&mut self, bytes: &[u8], filter: LoggingConfig) {
        self.partial.extend_from_slice(bytes);
        let end = match self.partial.iter().rposition(|byte| *byte == b'\n') {
            Some(end) => end + 1,
            None if self.partial.len() > PARTIAL_LINE_LIMIT => {
                self.flush_partial();
                return;
            }
            None => return,
        };
        let complete: Vec<u8> = self.partial.drain(..end).collect();
        let mut kept = Vec::with_capacity(complete.len());
        for line in complete.split_inclusive(|byte| *byte == b'\n') {
            if filter.keeps_line(line) {
                kept.extend_from_slice(line);
            }
        }
        if kept.is_empty() {
            return;
        }
        self.capture(&kept);
        self.send(&kept);
    }
}

/// Guest stdout and stderr of one instance: captured, and copied to the sink.
///
/// Cloned into the WASI context as both stdout and stderr, so interleaving is
/// kept in the order the guest wrote.
#[derive(Clone)]
pub(crate) struct LogPipe {
    captured: Arc<Mutex<Captured>>,
}

impl LogPipe {
    pub(crate) fn new(sink: Option<LogSink>) -> Self {
        LogPipe::with_logging(sink, LoggingConfig::default())
    }

    /// A pipe for a function with these logging controls: with JSON and an
    /// application level above TRACE, guest lines below the level are
    /// dropped.
    pub(crate) fn with_logging(sink: Option<LogSink>, logging: LoggingConfig) -> Self {
        let filter =
            (logging.is_json() && logging.application_level > LogLevel::Trace).then_some(logging);
        LogPipe {
            captured: Arc::new(Mutex::new(Captured {
                bytes: Vec::new(),
                sink,
                tap: None,
                partial: Vec::new(),
                filter,
            })),
        }
    }

    /// Appends guest output. The sink gets it a whole line at a time.
    pub(crate) fn write(&self, bytes: &[u8]) {
        let mut captured = self.captured.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(filter) = captured.filter {
            captured.write_filtered(bytes, filter);
            return;
        }
        captured.capture(bytes);
        if captured.sink.is_none() && captured.tap.is_none() {
            return;
        }
        captured.partial.extend_from_slice(bytes);
        let complete = match captured.partial.iter().rposition(|byte| *byte == b'\n') {
            Some(end) => captured.partial.drain(..=end).collect::<Vec<u8>>(),
            None if captured.partial.len() > PARTIAL_LINE_LIMIT => {
                std::mem::take(&mut captured.partial)
            }
            None => return,
        };
        captured.send(&complete);
    }

    /// Appends `START`/`END`/`REPORT`: always captured, sent to the sink
    /// only when `to_sink` (a custom runtime leaves them to Lambda). A guest
    /// line left unfinished goes to the sink first.
    pub(crate) fn write_platform(&self, bytes: &[u8], to_sink: bool) {
        let mut captured = self.captured.lock().unwrap_or_else(|e| e.into_inner());
        if captured.filter.is_some() {
            // The unfinished line is not captured yet: it comes first.
            captured.flush_partial();
            captured.capture(bytes);
        } else {
            captured.capture(bytes);
            captured.flush_partial();
        }
        if to_sink && let Some(sink) = &captured.sink {
            sink(bytes);
        }
    }

    /// Appends the host's own lines about the invocation (a refused
    /// connection, a timeout, a crash): captured and sent to the sink
    /// whatever the format and levels, as Lambda's own lines are.
    pub(crate) fn write_host(&self, bytes: &[u8]) {
        self.write_platform(bytes, true);
        let captured = self.captured.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tap) = &captured.tap {
            tap(bytes);
        }
    }

    /// Takes the log captured so far, leaving the pipe empty for the next
    /// invocation of a reused instance.
    pub(crate) fn take(&self) -> String {
        let mut captured = self.captured.lock().unwrap_or_else(|e| e.into_inner());
        if captured.filter.is_some() {
            captured.flush_partial();
        }
        let bytes = std::mem::take(&mut captured.bytes);
        let start = bytes.len().saturating_sub(CAPTURE_LIMIT);
        String::from_utf8_lossy(&bytes[start..]).into_owned()
    }

    /// Points the pipe at the sink and the tap of the current invocation
    /// (the line left unfinished goes to the last ones).
    pub(crate) fn set_sink(&self, sink: Option<LogSink>, tap: Option<LineTap>) {
        let mut captured = self.captured.lock().unwrap_or_else(|e| e.into_inner());
        captured.flush_partial();
        captured.sink = sink;
        captured.tap = tap.map(|tap| tap.0);
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LogPipe {
    async fn ready(&mut self) {}
}

impl OutputStream for LogPipe {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        LogPipe::write(self, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        // Always ready: the pipe drops old output instead of pushing back.
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for LogPipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        LogPipe::write(&self, buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl IsTerminal for LogPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogPipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

/// How an invocation ended, as Lambda's newer `REPORT` lines say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportStatus {
    /// The handler returned (a response or a handled function error).
    Success,
    /// The invocation ran out of time.
    Timeout,
    /// The sandbox crashed; the error type says how.
    Error(String),
}

/// The figures of Lambda's `REPORT` line for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The invocation's request id.
    pub request_id: String,
    /// Time spent in the handler.
    pub duration: Duration,
    /// The function's memory size in MB.
    pub memory_size_mb: u32,
    /// The most linear memory the sandbox held, in MB (rounded up).
    pub max_memory_used_mb: u64,
    /// Set when the invocation paid a cold start: artifact load or compile
    /// (first instance only) plus instantiation.
    pub init_duration: Option<Duration>,
    /// How the invocation ended.
    pub status: ReportStatus,
}

impl Report {
    /// Whole milliseconds billed: the duration rounded up, at least 1.
    pub fn billed_duration_ms(&self) -> u128 {
        let nanos = self.duration.as_nanos();
        nanos.div_ceil(1_000_000).max(1)
    }
}

/// Milliseconds with two decimals, as Lambda prints durations, rounded to
/// the nearest hundredth from the integer nanoseconds: a float written
/// with two decimals takes Rust's exact-decimal formatting, which cost each
/// cold start more than the rest of the `REPORT` line.
struct Millis(Duration);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hundredths = (self.0.as_nanos() + 5_000) / 10_000;
        write!(f, "{}.{:02}", hundredths / 100, hundredths % 100)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "REPORT RequestId: {}\tDuration: {} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB",
            self.request_id,
            Millis(self.duration),
            self.billed_duration_ms(),
            self.memory_size_mb,
            self.max_memory_used_mb,
        )?;
        if let Some(init) = self.init_duration {
            write!(f, "\tInit Duration: {} ms", Millis(init))?;
        }
        match &self.status {
            ReportStatus::Success => Ok(()),
            ReportStatus::Timeout => write!(f, "\tStatus: timeout"),
            ReportStatus::Error(error_type) => {
                write!(f, "\tStatus: error\tError Type: {error_type}")
            }
        }
    }
}

/// `START RequestId: <id> Version: $LATEST`
pub(crate) fn start_line(request_id: &str, version: &str) -> String {
    format!("START RequestId: {request_id} Version: {version}\n")
}

/// `END RequestId: <id>`
pub(crate) fn end_line(request_id: &str) -> String {
    format!("END RequestId: {request_id}\n")
}

/// The lines Lambda writes around an invocation, in the function's log
/// format: `START`, `END` and `REPORT` with Text; with JSON the system
/// records `platform.start` and `platform.report` (INFO) and
/// `platform.runtimeDone` (DEBUG), each kept when the system log level
/// allows it (`None` when it does not).
pub(crate) struct PlatformLines {
    /// The function's logging controls.
    pub logging: LoggingConfig,
}

/// A system record: `{"time":...,"type":...,"record":{...}}`, in that
/// order, as Lambda writes them.
#[derive(serde::Serialize)]
struct SystemRecord<'a, R: serde::Serialize> {
    time: String,
    #[serde(rename = "type")]
    kind: &'a str,
    record: R,
}

impl<R: serde::Serialize> SystemRecord<'_, R> {
    fn line(kind: &str, record: R) -> String {
        let record = SystemRecord {
            time: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            kind,
            record,
        };
        let mut line = serde_json::to_string(&record).unwrap_or_default();
        line.push('\n');
        line
    }
}

/// Milliseconds to the microsecond, as system records give durations.
fn record_millis(duration: Duration) -> f64 {
    duration.as_micros() as f64 / 1000.0
}

impl ReportStatus {
    /// The status as Lambda's system and telemetry records say it, with the
    /// error type of a crash: `success`, `timeout`, `error`, or `failure`
    /// for the sandbox's own errors (`Sandbox.*`).
    pub fn record_status(&self) -> (&'static str, Option<&str>) {
        match self {
            ReportStatus::Success => ("success", None),
            ReportStatus::Timeout => ("timeout", None),
            ReportStatus::Error(error_type) if error_type.starts_with("Sandbox.") => {
                ("failure", Some(error_type))
            }
            ReportStatus::Error(error_type) => ("error", Some(error_type)),
        }
    }
}

impl PlatformLines {
    fn system_keeps(&self, level: LogLevel) -> bool {
        level >= self.logging.system_level
    }

    /// With JSON, `platform.initStart` before a cold start's first line, as
    /// Lambda writes it when an execution environment starts (INFO); Text
    /// has no line for it here, so that its lines stay as they were.
    pub(crate) fn init_start(&self, function_name: &str, version: &str) -> Option<String> {
        if !self.logging.is_json() {
            return None;
        }
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct InitStart<'a> {
            initialization_type: &'a str,
            phase: &'a str,
            function_name: &'a str,
            function_version: &'a str,
        }
        self.system_keeps(LogLevel::Info).then(|| {
            SystemRecord::line(
                "platform.initStart",
                InitStart {
                    initialization_type: "on-demand",
                    phase: "init",
                    function_name,
                    function_version: version,
                },
            )
        })
    }

    /// `START`, or `platform.start`.
    pub(crate) fn start(
        &self,
        request_id: &str,
        function_arn: &str,
        version: &str,
    ) -> Option<String> {
        if !self.logging.is_json() {
            return Some(start_line(request_id, version));
        }
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Start<'a> {
            request_id: &'a str,
            function_arn: &'a str,
            version: &'a str,
        }
        self.system_keeps(LogLevel::Info).then(|| {
            SystemRecord::line(
                "platform.start",
                Start {
                    request_id,
                    function_arn,
                    version,
                },
            )
        })
    }

    /// `END`, or `platform.runtimeDone` with the handler's duration and
    /// the bytes of its answer.
    pub(crate) fn end(&self, report: &Report, produced_bytes: usize) -> Option<String> {
        if !self.logging.is_json() {
            return Some(end_line(&report.request_id));
        }
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Metrics {
            duration_ms: f64,
            produced_bytes: usize,
        }
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct RuntimeDone<'a> {
            request_id: &'a str,
            status: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            error_type: Option<&'a str>,
            metrics: Metrics,
        }
        let (status, error_type) = report.status.record_status();
        self.system_keeps(LogLevel::Debug).then(|| {
            SystemRecord::line(
                "platform.runtimeDone",
                RuntimeDone {
                    request_id: &report.request_id,
                    status,
                    error_type,
                    metrics: Metrics {
                        duration_ms: record_millis(report.duration),
                        produced_bytes,
                    },
                },
            )
        })
    }

    /// `REPORT`, or `platform.report`.
    pub(crate) fn report(&self, report: &Report) -> Option<String> {
        if !self.logging.is_json() {
            return Some(format!("{report}\n"));
        }
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct PlatformReport<'a> {
            request_id: &'a str,
            metrics: ReportMetrics,
            status: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            error_type: Option<&'a str>,
        }
        let (status, error_type) = report.status.record_status();
        self.system_keeps(LogLevel::Info).then(|| {
            SystemRecord::line(
                "platform.report",
                PlatformReport {
                    request_id: &report.request_id,
                    metrics: report.metrics(),
                    status,
                    error_type,
                },
            )
        })
    }
}

/// The metrics of a `platform.report` record, as the JSON log writes them
/// and the Telemetry API sends them.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportMetrics {
    duration_ms: f64,
    billed_duration_ms: u128,
    #[serde(rename = "memorySizeMB")]
    memory_size_mb: u32,
    #[serde(rename = "maxMemoryUsedMB")]
    max_memory_used_mb: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    init_duration_ms: Option<f64>,
}

impl Report {
    /// The report's metrics as `platform.report` records give them (the
    /// init duration on a cold start only).
    pub fn metrics(&self) -> ReportMetrics {
        ReportMetrics {
            duration_ms: record_millis(self.duration),
            billed_duration_ms: self.billed_duration_ms(),
            memory_size_mb: self.memory_size_mb,
            max_memory_used_mb: self.max_memory_used_mb,
            init_duration_ms: self.init_duration.map(record_millis),
        }
    }
}

/// `<timestamp> <id> Task timed out after 3.00 seconds`, logged on a timeout.
pub(crate) fn timeout_line(request_id: &str, timeout: Duration) -> String {
    let now = humantime::format_rfc3339_millis(std::time::SystemTime::now());
    format!(
        "{now} {request_id} Task timed out after {:.2} seconds\n",
        timeout.as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An output whose first write waits for `gate`, then records each write.
    struct Gated {
        gate: std::sync::mpsc::Receiver<()>,
        writes: Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
    }

    impl std::io::Write for Gated {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            let mut writes = self.writes.lock().unwrap();
            if writes.is_empty() {
                drop(writes);
                let _ = self.gate.recv();
                writes = self.writes.lock().unwrap();
            }
            writes.push(bytes.to_vec());
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn queued_writes_made_while_the_output_is_busy_go_out_in_one_write_in_order() {
        let (open, gate) = std::sync::mpsc::channel();
        let writes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let queue = QueuedSink::new(Gated {
            gate,
            writes: writes.clone(),
        });
        let sink = queue.sink();
        // The writer's first write waits at the gate, so every line below is
        // queued before it: whatever the first batch took, the rest go out
        // together (one write per line would make 101).
        sink(b"first\n");
        let expected: Vec<String> = (0..100).map(|line| format!("line {line}\n")).collect();
        for line in &expected {
            sink(line.as_bytes());
        }
        open.send(()).unwrap();
        queue.drain(Duration::from_secs(10));
        let writes = writes.lock().unwrap();
        let all: Vec<u8> = writes.concat();
        assert_eq!(
            String::from_utf8(all).unwrap(),
            format!("first\n{}", expected.concat())
        );
        assert!(writes.len() <= 2, "{} writes", writes.len());
    }

    #[test]
    fn report_line_matches_lambda() {
        let report = Report {
            request_id: "8f5b".into(),
            duration: Duration::from_micros(2_140),
            memory_size_mb: 128,
            max_memory_used_mb: 36,
            init_duration: Some(Duration::from_micros(85_200)),
            status: ReportStatus::Success,
        };
        assert_eq!(
            report.to_string(),
            "REPORT RequestId: 8f5b\tDuration: 2.14 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\tMax Memory Used: 36 MB\tInit Duration: 85.20 ms"
        );
    }

    #[test]
    fn durations_round_to_the_nearest_hundredth_of_a_millisecond() {
        for (nanos, written) in [
            (0, "0.00"),
            (4_999, "0.00"),
            (5_000, "0.01"),
            (2_144_999, "2.14"),
            (2_145_000, "2.15"),
            (999_994_999, "999.99"),
            (999_995_000, "1000.00"),
            (12_345_678_901, "12345.68"),
        ] {
            assert_eq!(Millis(Duration::from_nanos(nanos)).to_string(), written);
        }
    }

    #[test]
    fn report_line_carries_status_of_a_crash() {
        let report = Report {
            request_id: "r".into(),
            duration: Duration::from_millis(3000),
            memory_size_mb: 128,
            max_memory_used_mb: 128,
            init_duration: None,
            status: ReportStatus::Error("Runtime.OutOfMemory".into()),
        };
        assert_eq!(
            report.to_string(),
            "REPORT RequestId: r\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 128 MB\tStatus: error\tError Type: Runtime.OutOfMemory"
        );
    }

    #[test]
    fn concurrent_pipes_give_the_sink_whole_lines() {
        let written = Arc::new(Mutex::new(Vec::<u8>::new()));
        let into = written.clone();
        let sink: LogSink =
            Arc::new(move |bytes: &[u8]| into.lock().unwrap().extend_from_slice(bytes));
        let first = LogPipe::new(Some(sink.clone()));
        let second = LogPipe::new(Some(sink));
        // Print-style writes: the text, then its newline, of two guests at once.
        first.write(b"one from first");
        second.write(b"one from second");
        first.write(b"\ntwo from ");
        second.write(b"\n");
        first.write(b"first\nunfinished");
        second.write_platform(b"END\n", true);
        first.write_platform(b"END\n", true);
        let text = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "one from first\none from second\ntwo from first\nEND\nunfinished\nEND\n"
        );
        assert_eq!(
            first.take(),
            "one from first\ntwo from first\nunfinishedEND\n",
            "the capture is exact"
        );
    }

    #[test]
    fn the_tap_gets_the_functions_own_lines_and_no_platform_line() {
        let tapped = Arc::new(Mutex::new(Vec::<u8>::new()));
        let into = tapped.clone();
        let pipe = LogPipe::new(None);
        pipe.set_sink(
            None,
            Some(LineTap(Arc::new(move |bytes: &[u8]| {
                into.lock().unwrap().extend_from_slice(bytes)
            }))),
        );
        pipe.write_platform(b"START\n", true);
        pipe.write(b"a line in ");
        pipe.write(b"two writes\nunfinished");
        pipe.write_host(b"Task timed out\n");
        pipe.write_platform(b"END\n", true);
        // Parked: the next invocation's lines are not this one's.
        pipe.set_sink(None, None);
        pipe.write(b"later\n");
        assert_eq!(
            String::from_utf8(tapped.lock().unwrap().clone()).unwrap(),
            "a line in two writes\nunfinished\nTask timed out\n"
        );
    }

    fn json_logging(application: LogLevel, system: LogLevel) -> LoggingConfig {
        LoggingConfig {
            format: crate::logging::LogFormat::Json,
            application_level: application,
            system_level: system,
        }
    }

    #[test]
    fn a_filtered_pipe_drops_records_below_the_level_whole() {
        let written = Arc::new(Mutex::new(Vec::<u8>::new()));
        let into = written.clone();
        let sink: LogSink =
            Arc::new(move |bytes: &[u8]| into.lock().unwrap().extend_from_slice(bytes));
        let pipe = LogPipe::with_logging(Some(sink), json_logging(LogLevel::Warn, LogLevel::Info));
        // Records split across writes, as print-style output comes.
        pipe.write(b"{\"level\":\"DEBUG\",\"m\":1}\n{\"lev");
        pipe.write(b"el\":\"ERROR\",\"m\":2}\nplain, so INFO\n{\"level\":\"WARN\"");
        pipe.write(b",\"m\":3}");
        // The host's own lines are kept whatever the level; the unfinished
        // record goes first.
        pipe.write_host(b"Task timed out\n");
        pipe.write(b"{\"level\":\"INFO\",\"m\":4}");
        let kept = "{\"level\":\"ERROR\",\"m\":2}\n{\"level\":\"WARN\",\"m\":3}\nTask timed out\n";
        assert_eq!(
            String::from_utf8(written.lock().unwrap().clone()).unwrap(),
            kept
        );
        // The last record, unfinished and INFO, is dropped at the end too.
        assert_eq!(
            pipe.take(),
            "{\"level\":\"ERROR\",\"m\":2}\n{\"level\":\"WARN\",\"m\":3}Task timed out\n"
        );

        // Text keeps everything, exactly as written.
        let text = LogPipe::with_logging(None, LoggingConfig::default());
        text.write(b"{\"level\":\"DEBUG\"}\nplain");
        assert_eq!(text.take(), "{\"level\":\"DEBUG\"}\nplain");
    }

    fn report(init: bool, status: ReportStatus) -> Report {
        Report {
            request_id: "r-1".into(),
            duration: Duration::from_micros(2_495),
            memory_size_mb: 128,
            max_memory_used_mb: 38,
            init_duration: init.then(|| Duration::from_micros(176_040)),
            status,
        }
    }

    #[test]
    fn json_system_records_have_lambdas_shape_and_follow_the_system_level() {
        let lines = PlatformLines {
            logging: json_logging(LogLevel::Info, LogLevel::Info),
        };
        let start = lines
            .start(
                "r-1",
                "arn:aws:lambda:us-east-1:000000000000:function:f",
                "$LATEST",
            )
            .unwrap();
        let (time, rest) = start
            .strip_prefix("{\"time\":\"")
            .unwrap()
            .split_once('"')
            .unwrap();
        assert_eq!(time.len(), "2026-12-05T05:20:00.123Z".len(), "{time}");
        assert!(time.ends_with('Z') && time.as_bytes()[10] == b'T', "{time}");
        assert_eq!(
            rest,
            ",\"type\":\"platform.start\",\"record\":{\"requestId\":\"r-1\",\"functionArn\":\"arn:aws:lambda:us-east-1:000000000000:function:f\",\"version\":\"$LATEST\"}}\n"
        );
        let cold = lines.report(&report(true, ReportStatus::Success)).unwrap();
        let record: serde_json::Value = serde_json::from_str(&cold).unwrap();
        assert_eq!(record["type"], "platform.report");
        assert_eq!(
            record["record"],
            serde_json::json!({
                "requestId": "r-1",
                "metrics": {"durationMs": 2.495, "billedDurationMs": 3, "memorySizeMB": 128,
                            "maxMemoryUsedMB": 38, "initDurationMs": 176.04},
                "status": "success"
            })
        );
        let crashed = lines
            .report(&report(
                false,
                ReportStatus::Error("Runtime.ExitError".into()),
            ))
            .unwrap();
        let record: serde_json::Value = serde_json::from_str(&crashed).unwrap();
        assert!(record["record"]["metrics"].get("initDurationMs").is_none());
        assert_eq!(record["record"]["status"], "error");
        assert_eq!(record["record"]["errorType"], "Runtime.ExitError");
        // END has no record at INFO; at DEBUG it is platform.runtimeDone.
        assert!(
            lines
                .end(&report(false, ReportStatus::Success), 2)
                .is_none()
        );
        let debug = PlatformLines {
            logging: json_logging(LogLevel::Info, LogLevel::Debug),
        };
        let done = debug.end(&report(false, ReportStatus::Timeout), 0).unwrap();
        let record: serde_json::Value = serde_json::from_str(&done).unwrap();
        assert_eq!(record["type"], "platform.runtimeDone");
        assert_eq!(
            record["record"],
            serde_json::json!({"requestId": "r-1", "status": "timeout",
                               "metrics": {"durationMs": 2.495, "producedBytes": 0}})
        );
        // WARN keeps none of them.
        let warn = PlatformLines {
            logging: json_logging(LogLevel::Info, LogLevel::Warn),
        };
        assert!(warn.start("r-1", "arn", "$LATEST").is_none());
        assert!(warn.report(&report(true, ReportStatus::Success)).is_none());
        // Text is as before.
        let text = PlatformLines {
            logging: LoggingConfig::default(),
        };
        assert_eq!(
            text.start("r-1", "arn", "$LATEST").unwrap(),
            "START RequestId: r-1 Version: $LATEST\n"
        );
        assert_eq!(
            text.end(&report(false, ReportStatus::Success), 2).unwrap(),
            "END RequestId: r-1\n"
        );
        let success = report(false, ReportStatus::Success);
        assert_eq!(text.report(&success).unwrap(), format!("{success}\n"));
    }

    #[test]
    fn pipe_keeps_the_tail_of_a_flood() {
        let pipe = LogPipe::new(None);
        let line = vec![b'x'; 1024];
        for _ in 0..3 * 1024 {
            pipe.write(&line);
        }
        pipe.write(b"last\n");
        let log = pipe.take();
        assert!(log.len() <= CAPTURE_LIMIT);
        assert!(log.ends_with("last\n"));
        assert!(pipe.take().is_empty());
    }
}
