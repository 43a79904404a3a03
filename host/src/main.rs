//! `wasm-lambda`: a thin command line over the `wasm_lambda` library.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

mod cli {
    pub mod chart;
    pub mod watch;
}

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand};
use wasm_lambda::build::{BuildOptions, Language, build};
use wasm_lambda::server::{Server, ServerConfig, shutdown_signal};
use wasm_lambda::{
    FunctionConfig, FunctionSettings, Host, HostConfig, InvokeRequest, SettingsSource,
    default_cache_dir, stderr_sink, timeout_from_secs,
};

/// Exit status for a function error (the error JSON is still printed).
const EXIT_FUNCTION_ERROR: u8 = 1;
/// Exit status for a usage, load or request error.
const EXIT_USAGE: u8 = 2;

#[derive(Parser)]
#[command(
    name = "wasm-lambda",
    version,
    about = "Run AWS-Lambda-style handlers compiled to WebAssembly components"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build a handler project into a component (language detected from its files).
    Build {
        /// The handler project's folder.
        dir: PathBuf,
        /// Where to write the component [default: <DIR>/build/<name>.wasm].
        #[arg(short, long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        flags: BuildFlags,
    },
    /// Invoke a component once: the response on stdout, the log on stderr.
    ///
    /// Exit status: 0 on success, 1 on a function error (its error JSON is
    /// still printed), 2 on a usage, load or request error.
    Invoke(Box<InvokeArgs>),
    /// Serve the Lambda Invoke API for deployed components, so AWS SDKs and the
    /// AWS CLI can call them with `--endpoint-url`. No authentication: any or no
    /// SigV4 signature is accepted, and the default address is loopback only.
    Serve(ServeArgs),
    /// Run as a Lambda custom runtime: poll $AWS_LAMBDA_RUNTIME_API and run the
    /// component for each event. This binary does the same when started as
    /// `bootstrap`.
    Runtime {
        /// The component [default: $LAMBDA_TASK_ROOT/$_HANDLER].
        component: Option<PathBuf>,
        /// Timeout in seconds for events whose deadline is absent or already
        /// past (some emulators send such values).
        #[arg(
            long,
            value_name = "SECONDS",
            env = "WASM_LAMBDA_TIMEOUT",
            default_value_t = 3.0
        )]
        timeout: f64,
    },
    /// Measure cold starts (fresh sandbox + first call) and warm invokes of
    /// components, side by side: a table on stdout, or JSON, and an SVG chart.
    Bench(BenchArgs),
    /// Print a sample event of an AWS service that invokes functions
    /// (apigw-rest, apigw-http, function-url, alb, sqs, sns, s3-put,
    /// dynamodb-stream, kinesis, eventbridge, cloudwatch-logs, scheduled).
    Event(EventArgs),
    /// Package a component as a deployment zip for a provided.al2023 function:
    /// `bootstrap` (this binary), the component and its precompiled artifact,
    /// and with --snapshot the snapshot of its init phase (Python,
    /// JavaScript), made for the function's configuration given here.
    Package(PackageArgs),
    /// Build a handler (or take a component), then create or update it as a
    /// function on a Lambda control plane (`wasm-lambda serve`'s) and wait
    /// until it serves: the AWS CLI's create-function/update-function-code.
    Deploy(DeployArgs),
}

#[derive(clap::Args)]
struct PackageArgs {
    /// The component (.wasm).
    component: PathBuf,
    /// The zip to write.
    #[arg(short, long, default_value = "function.zip")]
    output: PathBuf,
    /// The function's name on Lambda [default: the component's file stem].
    /// This and the settings below are what the init phase sees: a
    /// `--snapshot` is used on Lambda only when they are the function's.
    #[arg(long, value_name = "NAME")]
    function_name: Option<String>,
    /// The function's region.
    #[arg(long, default_value = "us-east-1", env = "AWS_REGION")]
    region: String,
    /// The function's memory size, in MB.
    #[arg(long, value_name = "MB", default_value_t = 128)]
    memory: u32,
    /// The function's version as its environment names it: `$LATEST`, or the
    /// number it will be published as.
    #[arg(long, value_name = "VERSION", default_value = "$LATEST")]
    function_version: String,
    /// One of the function's environment variables; repeat for more.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = wasm_lambda::parse_key_value)]
    environment: Vec<(String, String)>,
    /// Carry a snapshot of the init phase (Python, JavaScript), made for the
    /// configuration given here: on Lambda each event then starts where the
    /// init phase ended instead of running it, when the function's
    /// configuration is this one. Without it the package is smaller and
    /// the init phase runs in every sandbox.
    #[arg(long)]
    snapshot: bool,
    /// The function's instruction set architecture on Lambda, `x86_64` or
    /// `arm64` [default: this machine's]. For another architecture than
    /// this machine's, give a `wasm-lambda` built for it with `--bootstrap`
    /// (`bash scripts/build-bootstrap.sh arm64`); it runs here under qemu
    /// to compile the component for itself.
    #[arg(long, value_name = "ARCH", value_parser = wasm_lambda::package::Architecture::parse)]
    arch: Option<wasm_lambda::package::Architecture>,
    /// The `wasm-lambda` executable to ship as `bootstrap` [default: this
    /// one].
    #[arg(long, value_name = "FILE")]
    bootstrap: Option<PathBuf>,
}

#[derive(clap::Args)]
struct DeployArgs {
    /// The handler project's folder, or a component (.wasm).
    path: PathBuf,
    /// The function's name.
    #[arg(long)]
    name: String,
    /// The control plane [default: $AWS_ENDPOINT_URL_LAMBDA, else serve's
    /// address http://127.0.0.1:9000].
    #[arg(long, value_name = "URL", env = "AWS_ENDPOINT_URL_LAMBDA")]
    endpoint: Option<String>,
    /// The execution role of a new function.
    #[arg(long, value_name = "ARN", default_value = wasm_lambda::deploy::DEFAULT_ROLE)]
    role: String,
    #[command(flatten)]
    build: BuildFlags,
}

/// How a handler project is built: `build`'s flags, and `deploy`'s for a
/// folder.
#[derive(clap::Args)]
struct BuildFlags {
    /// The handler, `module.function` (Python) [default: $_HANDLER, else
    /// lambda_function.lambda_handler].
    #[arg(long)]
    handler: Option<String>,
    /// The Lambda runtime (JavaScript: nodejs20.x or nodejs22.x run
    /// callback handlers; nodejs24.x, the default, refuses them).
    #[arg(long)]
    runtime: Option<String>,
    /// A Lambda layer (an unzipped folder: python/... or nodejs/node_modules/...)
    /// whose packages are built into the component; repeat for more, in order.
    #[arg(long = "layer", value_name = "DIR")]
    layers: Vec<PathBuf>,
    /// The project's language, for a folder whose files name two (rust,
    /// python, javascript, c, go, zig, assemblyscript) [default: detected].
    #[arg(long)]
    language: Option<Language>,
}

impl BuildFlags {
    /// The build options for the project in `dir` with these flags.
    fn options(self, dir: impl Into<PathBuf>) -> BuildOptions {
        BuildOptions {
            handler: self.handler,
            runtime: self.runtime,
            layers: self.layers,
            language: self.language,
            ..BuildOptions::new(dir)
        }
    }
}

#[derive(clap::Args)]
struct EventArgs {
    /// The kind of event.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(wasm_lambda::samples::KINDS))]
    kind: String,
    #[command(flatten)]
    fields: SampleFields,
}

/// The fields of a sample event users change most.
#[derive(clap::Args)]
struct SampleFields {
    /// The HTTP body (HTTP kinds).
    #[arg(long)]
    body: Option<String>,
    /// The request path with an optional ?query (HTTP kinds).
    #[arg(long)]
    path: Option<String>,
    /// The HTTP method (HTTP kinds).
    #[arg(long)]
    method: Option<String>,
    /// The bucket (s3-put).
    #[arg(long)]
    bucket: Option<String>,
    /// The object key (s3-put), as stored: the event carries it URL-encoded, as S3 sends it.
    #[arg(long)]
    key: Option<String>,
    /// The message: SQS body, SNS message, Kinesis data, log line, EventBridge detail.
    #[arg(long)]
    message: Option<String>,
}

impl SampleFields {
    fn sample(&self, kind: &str) -> Result<serde_json::Value> {
        wasm_lambda::samples::sample(
            kind,
            &wasm_lambda::samples::SampleOptions {
                body: self.body.clone(),
                path: self.path.clone(),
                method: self.method.clone(),
                bucket: self.bucket.clone(),
                key: self.key.clone(),
                message: self.message.clone(),
            },
        )
    }
}

#[derive(clap::Args)]
struct BenchArgs {
    /// The components to measure, in the order to report them.
    #[arg(required = true)]
    components: Vec<PathBuf>,
    /// The event every invocation gets, as JSON text.
    #[arg(long, default_value = "{}")]
    event: String,
    /// Timed runs per measurement (cold, warm, and native each).
    #[arg(long, short = 'n', default_value_t = 1000)]
    iterations: usize,
    /// Print a JSON array (one object per component, in order) instead of the table.
    #[arg(long)]
    json: bool,
    /// Write an SVG bar chart of the results to this file.
    #[arg(long, value_name = "FILE")]
    chart: Option<PathBuf>,
    /// A native command to compare with, run in a fresh process per run with
    /// the event on stdin: once for all components, or once per component in
    /// order (an empty CMD skips that component). It is split into words as
    /// a shell would and run without one; write `sh -c '...'` for pipes.
    #[arg(long = "vs-native", value_name = "CMD")]
    vs_native: Vec<String>,
    /// Also time the components' cold starts taken in turn (one of each, round
    /// after round), as a server with many functions meets them; reported
    /// next to each back-to-back figure. Needs two components or more.
    #[arg(long)]
    mixed: bool,
    /// Use on-demand instance allocation instead of the pooling allocator.
    #[arg(long)]
    on_demand: bool,
    #[command(flatten)]
    settings: FunctionSettings,
    #[command(flatten)]
    ca: CaArgs,
}

/// A PEM file of CA certificates to trust for handlers' HTTPS besides the
/// system's: a setting of the host, not of one function.
#[derive(clap::Args)]
struct CaArgs {
    /// A PEM file of CA certificates to trust for HTTPS besides the system's.
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:9000, or the config file's].
    #[arg(long, value_name = "ADDR")]
    listen: Option<std::net::SocketAddr>,
    /// Deploy a component as a function; repeat for more.
    #[arg(long = "function", value_name = "NAME=PATH")]
    functions: Vec<String>,
    /// A TOML file declaring functions (see README).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where accepted Event invocations are kept until they end [default:
    /// the config file's `state_dir`, else $WASM_LAMBDA_STATE_DIR, else
    /// ~/.local/state/wasm-lambda].
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Where accepted Event invocations are kept: `embedded` (in the state
    /// folder) or `nats://HOST:PORT[,HOST:PORT...]`, a NATS JetStream queue
    /// several servers share [default: the config file's `backend`, else
    /// embedded].
    #[arg(long, value_name = "BACKEND")]
    backend: Option<String>,
    /// The S3 endpoint CreateFunction and UpdateFunctionCode fetch
    /// `S3Bucket`/`S3Key` code from, path-style (e.g. moto's server)
    /// [default: the config file's `s3_endpoint`, else $AWS_ENDPOINT_URL_S3].
    #[arg(long, value_name = "URL")]
    s3_endpoint: Option<String>,
    /// Make every cold start's sandbox when its request arrives, instead of
    /// ahead, after the function's last invocation ended [default: the
    /// config file's `ready_sandboxes`, else made ahead].
    #[arg(long)]
    no_ready_sandboxes: bool,
    #[command(flatten)]
    watch: WatchArgs,
}

#[derive(clap::Args)]
struct WatchArgs {
    /// Rebuild after each edit of the handler's folder (or its component
    /// file) and use the new code: `serve` swaps it in for later
    /// invocations (every function; `watch = true` in the config file for
    /// one), `invoke` runs the same event again.
    #[arg(long)]
    watch: bool,
    /// How long, in milliseconds, the folder must be quiet after a change
    /// before the rebuild starts.
    #[arg(long, value_name = "MS", default_value_t = cli::watch::DEFAULT_DEBOUNCE_MS, requires = "watch")]
    debounce: u64,
}

#[derive(clap::Args)]
struct InvokeArgs {
    /// The handler component (.wasm), or a handler project's folder (built
    /// first, as `wasm-lambda build` builds it).
    component: PathBuf,
    /// The event, as JSON text [default: stdin when piped, else {}; empty means {}].
    #[arg(long, conflicts_with_all = ["event_file", "event_kind"])]
    event: Option<String>,
    /// Read the event from a file.
    #[arg(long, value_name = "FILE", conflicts_with = "event_kind")]
    event_file: Option<PathBuf>,
    /// Use a sample event of this kind (see `wasm-lambda event`), with the
    /// --body, --path, --method, --bucket, --key and --message fields.
    #[arg(long, value_name = "KIND", value_parser = clap::builder::PossibleValuesParser::new(wasm_lambda::samples::KINDS))]
    event_kind: Option<String>,
    #[command(flatten)]
    sample: SampleFields,
    /// The function's name [default: the component's file stem].
    #[arg(long, value_name = "NAME")]
    function_name: Option<String>,
    /// The region the function reports.
    #[arg(long, default_value = "us-east-1", env = "AWS_REGION")]
    region: String,
    /// Don't read or write the precompiled-component cache.
    #[arg(long)]
    no_cache: bool,
    /// The tenant id of a tenant-isolated function (`context.tenant_id`).
    #[arg(long, value_name = "ID")]
    tenant_id: Option<String>,
    #[command(flatten)]
    settings: FunctionSettings,
    #[command(flatten)]
    ca: CaArgs,
    #[command(flatten)]
    watch: WatchArgs,
}

fn main() -> ExitCode {
    // The library's own messages (a cache it cannot write, Event retries)
    // go to stderr as plain lines.
    // The NATS client's own notes (connected, reconnecting) stay out of
    // the function logs; its warnings and errors do not.
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .without_time()
                .with_level(false)
                .with_target(false)
                .with_ansi(false),
        )
        .with(
            tracing_subscriber::filter::Targets::new()
                .with_default(tracing::Level::INFO)
                .with_target("async_nats", tracing::Level::WARN),
        )
        .init();
    // Lambda starts a custom runtime as `bootstrap`, with no arguments.
    let started_as_bootstrap = std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|path| path.file_name().map(|name| name == "bootstrap"))
        .unwrap_or(false);
    if started_as_bootstrap {
        return wasm_lambda::run_bootstrap();
    }
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Build { dir, output, flags } => run_build(BuildOptions {
            output,
            ..flags.options(dir)
        }),
        Command::Invoke(args) => run_invoke(*args),
        Command::Serve(args) => run_serve(args),
        Command::Runtime { component, timeout } => run_runtime(component, timeout),
        Command::Package(args) => run_package(args),
        Command::Bench(args) => run_bench(args),
        Command::Deploy(args) => run_deploy(args),
        Command::Event(args) => args.fields.sample(&args.kind).and_then(|event| {
            println!("{}", serde_json::to_string_pretty(&event)?);
            Ok(0)
        }),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn run_build(options: BuildOptions) -> Result<u8> {
    let dir = &options.dir;
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message(format!("building {}", dir.display()));
    // Only a terminal gets the spinner; logs and pipes get the summary line.
    if !std::io::stderr().is_terminal() {
        spinner.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    spinner.enable_steady_tick(Duration::from_millis(100));
    let built = build(&options, &mut |status| {
        spinner.set_message(status.to_string())
    });
    spinner.finish_and_clear();
    let built = built?;
    for warning in &built.warnings {
        eprintln!("warning: {warning}");
    }
    let size = std::fs::metadata(&built.component)
        .map(|m| m.len())
        .unwrap_or(0);
    let runtime = built.language.runtime();
    let kilobytes = size.div_ceil(1024);
    if built.unchanged {
        eprintln!(
            "{runtime} component ({kilobytes} KB) unchanged: its inputs are those it was built from ({} ms)",
            built.duration.as_millis()
        );
    } else {
        eprintln!(
            "built {runtime} component ({kilobytes} KB) in {:.1} s",
            built.duration.as_secs_f64()
        );
    }
    println!("{}", built.component.display());
    Ok(0)
}

fn run_deploy(args: DeployArgs) -> Result<u8> {
    use wasm_lambda::deploy::{DEFAULT_ENDPOINT, DeployOptions, deploy};
    let mut options = DeployOptions::new(&args.path, &args.name);
    options.endpoint = args.endpoint.unwrap_or_else(|| DEFAULT_ENDPOINT.into());
    options.role = args.role;
    options.build = args.build.options(&args.path);
    let deployed = deploy(&options, &mut |status| eprintln!("{status}"))?;
    let configuration = &deployed.configuration;
    eprintln!(
        "{} {} ({} bytes, CodeSha256 {})",
        if deployed.created {
            "created"
        } else {
            "updated"
        },
        configuration["FunctionArn"].as_str().unwrap_or_default(),
        configuration["CodeSize"],
        configuration["CodeSha256"].as_str().unwrap_or_default(),
    );
    println!("{}", serde_json::to_string_pretty(configuration)?);
    Ok(0)
}

fn read_event(args: &InvokeArgs) -> Result<Vec<u8>> {
    if let Some(event) = &args.event {
        return Ok(event.clone().into_bytes());
    }
    if let Some(path) = &args.event_file {
        return std::fs::read(path).with_context(|| format!("failed to read {}", path.display()));
    }
    if let Some(kind) = &args.event_kind {
        return Ok(args.sample.sample(kind)?.to_string().into_bytes());
    }
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(b"{}".to_vec());
    }
    let mut event = Vec::new();
    stdin
        .read_to_end(&mut event)
        .context("failed to read the event from stdin")?;
    Ok(event)
}

/// A function's name when none is given: its component's file stem.
fn default_function_name(component: &Path) -> String {
    component
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| "function".into())
}

fn run_invoke(args: InvokeArgs) -> Result<u8> {
    use cli::watch::{Source, Watch};
    let event = read_event(&args)?;
    let host = Host::new(HostConfig {
        cache_dir: (!args.no_cache).then(default_cache_dir),
        log_sink: Some(stderr_sink()),
        extra_ca_file: args.ca.ca_file.clone(),
        ..HostConfig::default()
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?;
    let name = args
        .function_name
        .clone()
        .unwrap_or_else(|| default_function_name(&args.component));
    let source = Source::of(&args.component, args.settings.handler.as_deref(), &name);
    if !args.watch.watch {
        let component = source.update()?;
        return invoke_once(&args, &name, &host, &runtime, &component, &event);
    }
    // The edit-run loop: each change that alters the component runs the
    // same event again; an error is printed and the watch goes on.
    let mut watch = Watch::new(&source, Duration::from_millis(args.watch.debounce))?;
    let mut last = None;
    loop {
        match source.update() {
            Err(error) => eprintln!("error: the build failed:\n{error:#}"),
            Ok(component) => {
                let digest = cli::watch::digest(&component).ok();
                if digest.is_some() && digest == last {
                    eprintln!("wasm-lambda: the component did not change");
                } else {
                    last = digest;
                    if let Err(error) =
                        invoke_once(&args, &name, &host, &runtime, &component, &event)
                    {
                        eprintln!("error: {error:#}");
                    }
                }
            }
        }
        eprintln!(
            "wasm-lambda: watching {} (Ctrl-C stops)",
            source.path().display()
        );
        let changed = watch.changed()?;
        eprintln!("wasm-lambda: {} changed", changed.display());
    }
}

/// Loads `component` as function `name` and invokes it with `event`: the
/// response on stdout.
fn invoke_once(
    args: &InvokeArgs,
    name: &str,
    host: &Host,
    runtime: &tokio::runtime::Runtime,
    component: &Path,
    event: &[u8],
) -> Result<u8> {
    let mut config = FunctionConfig::new(name, component);
    config.region = args.region.clone();
    args.settings
        .apply(&mut config, SettingsSource::Flags)
        .with_context(|| format!("function {}", config.name))?;
    let function = host.load(config)?;
    let request = InvokeRequest {
        tenant_id: args.tenant_id.clone(),
        ..InvokeRequest::new(event.to_vec())
    };
    let invocation = runtime.block_on(function.invoke(request));
    let invocation = match invocation {
        Ok(invocation) => invocation,
        Err(error) => bail!("{}: {error}", error.error_code()),
    };
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", invocation.payload()).context("failed to write the response")?;
    stdout.flush().ok();
    Ok(match invocation.function_error() {
        Some(_) => EXIT_FUNCTION_ERROR,
        None => 0,
    })
}

fn run_serve(args: ServeArgs) -> Result<u8> {
    let mut config = match &args.config {
        Some(path) => ServerConfig::from_file(path)?,
        None => ServerConfig::default(),
    };
    for flag in &args.functions {
        config.add_function_flag(flag)?;
    }
    if args.listen.is_some() {
        config.listen = args.listen;
    }
    if args.state_dir.is_some() {
        config.state_dir = args.state_dir;
    }
    if args.backend.is_some() {
        config.backend = args.backend;
    }
    if args.s3_endpoint.is_some() {
        config.s3_endpoint = args.s3_endpoint;
    }
    if config.s3_endpoint.is_none() {
        config.s3_endpoint = std::env::var("AWS_ENDPOINT_URL_S3").ok();
    }
    if args.no_ready_sandboxes {
        config.ready_sandboxes = Some(false);
    }
    let watched = cli::watch::prepare_functions(&mut config.functions, args.watch.watch)?;
    // With no functions given, the server starts empty (or with what the
    // control plane created before, kept in the state folder).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?;
    // Function logs stream to the server's stderr as they are written, so a
    // running invocation's START line is visible at once; a writer thread
    // writes them, so that a slow reader of stderr stalls no invocation.
    let logs = wasm_lambda::QueuedSink::stderr();
    let served = runtime.block_on(async {
        let mut engine = wasm_lambda::EngineConfig::default();
        if let Some(slots) = config.long_running_slots {
            engine.long_running_slots = slots;
        }
        let host = Host::new(HostConfig {
            engine,
            log_sink: Some(logs.sink()),
            extra_ca_file: config.ca_file.clone(),
            ready_sandboxes: config.ready_sandboxes.unwrap_or(true),
            ..HostConfig::default()
        })?;
        let builder: std::sync::Arc<dyn wasm_lambda::server::SourceBuilder> =
            std::sync::Arc::new(wasm_lambda::sources::ToolchainBuilder::default());
        let server = Server::bind_with_builder(&host, &config, Some(builder)).await?;
        for function in watched {
            cli::watch::serve_watched(
                &host,
                server.reloader(),
                config.region(),
                function,
                Duration::from_millis(args.watch.debounce),
            )?;
        }
        let names = server.function_names();
        let serving = if names.is_empty() {
            "no functions yet (deploy with CreateFunction)".to_string()
        } else {
            names.join(", ")
        };
        eprintln!(
            "wasm-lambda: serving {serving} on http://{}",
            server.local_addr()?
        );
        server.run(shutdown_signal()).await?;
        logs.drain(Duration::from_secs(2));
        eprintln!("wasm-lambda: stopped");
        Ok(0)
    });
    // The server has finished every invocation; what may still run is an
    // event source's long poll (up to 20 s), abandoned on the signal, which
    // the process need not wait for (a message it takes comes back after
    // the queue's visibility timeout, as when a poller of Lambda's goes).
    // `event_sources::serve_stops_at_once_while_its_pollers_wait_on_an_empty_queue`
    // checks it.
    runtime.shutdown_background();
    served
}

fn run_runtime(component: Option<PathBuf>, timeout: f64) -> Result<u8> {
    let timeout = timeout_from_secs(timeout, "--timeout").map_err(anyhow::Error::msg)?;
    let env = std::env::vars().collect();
    let settings =
        wasm_lambda::runtime_api::RuntimeSettings::from_env(&env, component.as_deref(), timeout)?;
    wasm_lambda::runtime_api::run(&settings, None)?;
    Ok(0)
}

fn run_package(args: PackageArgs) -> Result<u8> {
    use wasm_lambda::package::{Architecture, package_emulated};
    let machine = Architecture::this_machine();
    let arch = args.arch.unwrap_or(machine);
    let bootstrap = match &args.bootstrap {
        Some(path) => path.clone(),
        None if arch == machine => {
            let this = std::env::current_exe().context("failed to find this executable")?;
            wasm_lambda::package::slim_bootstrap_beside(&this).unwrap_or(this)
        }
        None => bail!(
            "--arch {arch}: this wasm-lambda is built for {machine}; give one built for {arch} with --bootstrap (`bash scripts/build-bootstrap.sh {arch}` builds it)"
        ),
    };
    let built_for = Architecture::of_executable(&bootstrap)?;
    if built_for != arch {
        bail!(
            "the bootstrap {} is built for {built_for}, not {arch}",
            bootstrap.display()
        );
    }
    if arch != machine {
        let code = package_emulated(arch, &bootstrap, std::env::args_os().skip(1))?;
        return Ok(u8::try_from(code).unwrap_or(1));
    }
    let host = Host::new(HostConfig::default())?;
    let config = wasm_lambda::package::PackageConfig {
        name: args
            .function_name
            .unwrap_or_else(|| default_function_name(&args.component)),
        region: args.region,
        memory_mb: args.memory,
        version: args.function_version,
        variables: args.environment.into_iter().collect(),
        snapshot: args.snapshot,
    };
    let package =
        wasm_lambda::package::package(&host, &args.component, &bootstrap, &args.output, &config)?;
    eprintln!(
        "packaged {} for {arch} with handler {}{}: {}",
        package.zip.display(),
        package.handler,
        if package.snapshot {
            format!(
                " and the init phase's snapshot for function {} ({} MB, {}, {})",
                config.name, config.memory_mb, config.region, config.version
            )
        } else {
            String::new()
        },
        package.room()
    );
    if config.snapshot && !package.snapshot {
        eprintln!(
            "note: --snapshot: the init phase could not be snapshotted (the reason is above); the package runs it in every sandbox"
        );
    }
    if !wasm_lambda::has_code_level() {
        eprintln!(
            "note: this processor lacks part of {}, so the package's compiled code is for this processor alone: a Lambda host with another one compiles the component at its first start",
            wasm_lambda::CODE_LEVEL
        );
    }
    println!("{}", package.zip.display());
    Ok(0)
}

fn run_bench(args: BenchArgs) -> Result<u8> {
    use wasm_lambda::bench::{BenchOptions, bench_component, bench_mixed, bench_native};

    if args.iterations == 0 {
        bail!("--iterations must be at least 1");
    }
    if args.vs_native.len() > 1 && args.vs_native.len() != args.components.len() {
        bail!(
            "--vs-native was given {} times for {} components: give it once, or once per \
             component",
            args.vs_native.len(),
            args.components.len()
        );
    }
    if args.mixed && args.components.len() < 2 {
        bail!("--mixed takes its turns between components: give two or more");
    }
    serde_json::from_str::<serde::de::IgnoredAny>(&args.event)
        .context("--event is not valid JSON")?;
    let host = Host::new(HostConfig {
        engine: wasm_lambda::EngineConfig {
            pooling: !args.on_demand,
            ..wasm_lambda::EngineConfig::default()
        },
        extra_ca_file: args.ca.ca_file.clone(),
        ..HostConfig::default()
    })?;
    let mut template = FunctionConfig::new("bench", "bench.wasm");
    args.settings
        .apply(&mut template, SettingsSource::Flags)
        .context("function bench")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?;
    let mut options = BenchOptions::new(args.event.clone(), args.iterations);
    options.template = Some(template);
    let runs_per_component = 2 + u64::from(!args.vs_native.is_empty()) + u64::from(args.mixed);
    let bar = indicatif::ProgressBar::new(
        args.components.len() as u64 * runs_per_component * args.iterations as u64,
    );
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut results = Vec::new();
    for (index, component) in args.components.iter().enumerate() {
        let mut progress = |phase: &str| {
            bar.set_message(format!("{} {phase}", component.display()));
            bar.inc(1);
        };
        let mut result =
            runtime.block_on(bench_component(&host, component, &options, &mut progress))?;
        let native = args
            .vs_native
            .get(index)
            .or_else(|| args.vs_native.first().filter(|_| args.vs_native.len() == 1));
        if let Some(command) = native.filter(|command| !command.trim().is_empty()) {
            let stats = bench_native(command, &args.event, args.iterations, &mut progress)?;
            result = result.with_native(command, stats);
        }
        results.push(result);
    }
    if args.mixed {
        let mut progress = |phase: &str| {
            bar.set_message(phase.to_string());
            bar.inc(1);
        };
        let mixed = runtime.block_on(bench_mixed(
            &host,
            &args.components,
            &options,
            &mut progress,
        ))?;
        for (result, stats) in results.iter_mut().zip(mixed) {
            result.mixed = Some(stats);
        }
    }
    bar.finish_and_clear();

    if let Some(path) = &args.chart {
        let title = format!(
            "wasm-lambda cold start vs warm invoke (p50, {} runs each)",
            args.iterations
        );
        let svg = cli::chart::render_svg(&results, &title)?;
        std::fs::write(path, svg).with_context(|| format!("failed to write {}", path.display()))?;
    }
    let mut stdout = std::io::stdout().lock();
    if args.json {
        let array: Vec<serde_json::Value> = results.iter().map(|r| r.to_json()).collect();
        writeln!(stdout, "{}", serde_json::to_string_pretty(&array)?)?;
    } else {
        write!(stdout, "{}", wasm_lambda::bench::render_table(&results))?;
    }
    Ok(0)
}
