//! `wasm-lambda build`: turns a handler project into a component.
//!
//! The language is detected from the project's files; each language has a
//! module that knows its toolchain. Every build ends the same way: the
//! component is checked, marked with its runtime (see [`wasm_lambda_core::marker`]) and
//! written to `<dir>/build/<name>.wasm`.
//!
//! This crate owns the builders: which language a folder is (`detect.rs`),
//! one toolchain per language, and the wrapping of core modules into
//! components. It runs the guest toolchains as processes and uses
//! `wasm-lambda-core` only for what a component carries (its files, its
//! runtime marker); it must not depend on the server, the runtime or the
//! command line, which use it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

mod build_cache;
mod core_module;
mod detect;
mod js;
mod python;
mod rust;
mod rust_extensions;
mod rust_runtime;
mod tools;
mod wheels;

pub use build_cache::{NPM_INSTALL_RECORD, UNREAD_FOLDERS};
pub use js::DEFAULT_HANDLER as DEFAULT_JS_HANDLER;
pub use js::RUNTIMES as JS_RUNTIMES;
pub use python::DEFAULT_HANDLER as DEFAULT_PYTHON_HANDLER;
pub use python::RUNTIMES as PYTHON_RUNTIMES;

/// A language `wasm-lambda build` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// A Cargo package using the `wasm-lambda-sdk` crate.
    Rust,
    /// A folder with a Lambda Python handler module (`lambda_function.py`).
    Python,
    /// A folder with a Node.js-style ES module handler (`index.mjs`).
    JavaScript,
    /// A folder of `.c` files naming a handler with `WASM_LAMBDA_HANDLER`.
    C,
    /// A Go module whose `main` calls `lambda.Start` of the Go SDK.
    Go,
    /// A folder with a `handler.zig` using the Zig SDK.
    Zig,
    /// A folder with an `index.ts` using the AssemblyScript SDK.
    AssemblyScript,
}

impl Language {
    /// The runtime identifier recorded in the component
    /// (`AWS_EXECUTION_ENV=AWS_Lambda_<runtime>`).
    pub fn runtime(self) -> &'static str {
        toolchain(self).default_runtime()
    }

    /// Every language, one per row of the toolchain table.
    pub fn all() -> impl Iterator<Item = Language> {
        TOOLCHAINS.iter().map(|toolchain| toolchain.language())
    }

    /// Its name, as messages say it.
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "Rust",
            Language::Python => "Python",
            Language::JavaScript => "JavaScript",
            Language::C => "C",
            Language::Go => "Go",
            Language::Zig => "Zig",
            Language::AssemblyScript => "AssemblyScript",
        }
    }

    /// Its value of `--language`.
    pub fn flag(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::JavaScript => "javascript",
            Language::C => "c",
            Language::Go => "go",
            Language::Zig => "zig",
            Language::AssemblyScript => "assemblyscript",
        }
    }
}

impl std::str::FromStr for Language {
    type Err = anyhow::Error;

    /// A value of `--language` (also `js`, `typescript`, `ts`, `py`, `as`).
    fn from_str(text: &str) -> Result<Language> {
        let lower = text.to_ascii_lowercase();
        let alias = match lower.as_str() {
            "js" | "node" | "nodejs" | "typescript" | "ts" => "javascript",
            "py" => "python",
            "as" => "assemblyscript",
            other => other,
        };
        Language::all()
            .find(|language| language.flag() == alias)
            .ok_or_else(|| {
                let flags: Vec<&str> = Language::all().map(Language::flag).collect();
                anyhow::anyhow!(
                    "unknown language {text:?}: expected one of {}",
                    flags.join(", ")
                )
            })
    }
}

/// The contract every SDK follows, for the toolchains that need its text.
pub(crate) const HANDLER_WIT: &str = include_str!("../../../guest-sdk/wit/handler.wit");

/// WASI 0.2.12's WIT (the interface files wasmtime-wasi 48 ships), vendored
/// in `guest-sdk/wasi`, for the worlds that import WASI explicitly (Python's
/// `wasi:http`, JavaScript's `wasi:filesystem`).
pub(crate) const WASI_FILESYSTEM_WIT: &str = include_str!("../../../guest-sdk/wasi/filesystem.wit");
pub(crate) const WASI_IO_WIT: &str = include_str!("../../../guest-sdk/wasi/io.wit");
pub(crate) const WASI_CLOCKS_WIT: &str = include_str!("../../../guest-sdk/wasi/clocks.wit");

/// What a language's toolchain is asked to build.
pub(crate) struct Job<'a> {
    pub(crate) dir: &'a Path,
    /// `--handler` (or `_HANDLER`), else the language's default.
    pub(crate) handler: String,
    /// The Lambda runtime it builds for: the language's, or `--runtime`.
    pub(crate) runtime: &'a str,
    pub(crate) layers: &'a [PathBuf],
    /// Where cargo builds (shared by the tests' guests).
    pub(crate) target_dir: Option<&'a Path>,
}

/// What a toolchain made.
pub(crate) enum Made {
    /// A component, and its name when the toolchain knows a better one than
    /// the folder's (a Rust crate's).
    Component {
        bytes: Vec<u8>,
        name: Option<String>,
        warnings: Vec<String>,
    },
    /// A core module following the SDK's glue; the build wraps it into a
    /// component of the handler world (`core_module.rs`).
    CoreModule(Vec<u8>),
}

/// One language: its runtimes and handler setting, and how its toolchain
/// turns a folder into a component (which folders are of which language is
/// `detect.rs`'s). Adding a language is one file implementing this (or one
/// [`CoreModuleToolchain`] row), a [`Language`] variant, a row of
/// [`TOOLCHAINS`] and its marker in `detect.rs`.
pub(crate) trait Toolchain: Sync {
    /// The language it builds.
    fn language(&self) -> Language;
    /// The runtime recorded in its components.
    fn default_runtime(&self) -> &'static str;
    /// The runtimes `--runtime` may choose (only the default, unless the
    /// language has versions).
    fn runtimes(&self) -> &'static [&'static str] {
        &[]
    }
    /// The handler setting when none is given (empty: the language has none).
    fn default_handler(&self) -> &'static str {
        ""
    }
    /// Whether `--layer` applies.
    fn takes_layers(&self) -> bool {
        false
    }
    /// Builds `job`, reporting progress.
    fn build(&self, job: &Job<'_>, progress: &mut dyn FnMut(&str)) -> Result<Made>;
    /// What the toolchain reads besides the project and its layers, for a
    /// language whose builds are skipped when their inputs did not change
    /// (`build_cache.rs`); `None` where only the toolchain knows them
    /// (cargo: path dependencies and workspaces outside the folder).
    fn cache_inputs(&self) -> Option<build_cache::ToolchainInputs> {
        None
    }
}

/// The row of a language whose toolchain emits a core module (C, Go, Zig,
/// AssemblyScript): plain data and the function that compiles a folder; the
/// module is wrapped into a component of the handler world by
/// `core_module.rs`.
pub(crate) struct CoreModuleToolchain {
    pub(crate) language: Language,
    /// The runtime recorded in its components.
    pub(crate) runtime: &'static str,
    /// Compiles the project in a folder, reporting progress; returns the
    /// core module's bytes.
    pub(crate) build: CompileFn,
    /// What the build reads besides the project (its compiler and
    /// libraries; the SDK's sources are in this executable), for the build
    /// cache: such a build reads only the project's own files, so a
    /// fingerprint of them and of these is all its inputs.
    pub(crate) inputs: fn() -> build_cache::ToolchainInputs,
}

/// How a core-module toolchain compiles a folder, reporting progress.
pub(crate) type CompileFn = fn(&Path, &mut dyn FnMut(&str)) -> Result<Vec<u8>>;

impl Toolchain for CoreModuleToolchain {
    fn language(&self) -> Language {
        self.language
    }

    fn default_runtime(&self) -> &'static str {
        self.runtime
    }

    fn build(&self, job: &Job<'_>, progress: &mut dyn FnMut(&str)) -> Result<Made> {
        (self.build)(job.dir, progress).map(Made::CoreModule)
    }

    fn cache_inputs(&self) -> Option<build_cache::ToolchainInputs> {
        Some((self.inputs)())
    }
}

mod assemblyscript;
mod c;
mod go;
mod zig;

/// Every toolchain, one row per language.
const TOOLCHAINS: &[&dyn Toolchain] = &[
    &rust::Rust,
    &go::TOOLCHAIN,
    &assemblyscript::TOOLCHAIN,
    &zig::TOOLCHAIN,
    &c::TOOLCHAIN,
    &js::JavaScript,
    &python::Python,
];

fn toolchain(language: Language) -> &'static dyn Toolchain {
    *TOOLCHAINS
        .iter()
        .find(|toolchain| toolchain.language() == language)
        .expect("every language has a row in TOOLCHAINS")
}

/// What to build and how.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The handler project's folder.
    pub dir: PathBuf,
    /// Where to write the component; `<dir>/build/<name>.wasm` by default.
    pub output: Option<PathBuf>,
    /// The handler setting for languages that name one (`module.function`
    /// for Python); `$_HANDLER` or the language's default when `None`.
    pub handler: Option<String>,
    /// A Cargo target folder to build in (shared between projects so common
    /// dependencies compile once); the project's own by default.
    pub target_dir: Option<PathBuf>,
    /// The Lambda runtime to build for, where a language has several
    /// (JavaScript: `nodejs20.x`, `nodejs22.x` or `nodejs24.x`, the
    /// default). Recorded in the component; it sets `AWS_EXECUTION_ENV`.
    pub runtime: Option<String>,
    /// Lambda layers (unzipped folders) whose packages the handler imports:
    /// Python's from `python/` and `python/lib/python3.x/site-packages/`,
    /// Node.js's from `nodejs/node_modules/` and `nodejs/node<major>/node_modules/`.
    /// They are built into the component, in order, after the function's own.
    pub layers: Vec<PathBuf>,
    /// The project's language (`--language`), for a folder whose files name
    /// two; detected from its files when `None`.
    pub language: Option<Language>,
}

impl BuildOptions {
    /// The handler setting: the option, else `$_HANDLER`, else `default`.
    fn handler_or(&self, default: &str) -> String {
        self.handler
            .clone()
            .or_else(|| std::env::var("_HANDLER").ok())
            .unwrap_or_else(|| default.to_string())
    }

    /// Options to build the project in `dir` with every default.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        BuildOptions {
            dir: dir.into(),
            output: None,
            handler: None,
            target_dir: None,
            runtime: None,
            layers: Vec::new(),
            language: None,
        }
    }
}

/// A finished build.
#[derive(Debug, Clone)]
pub struct BuildOutput {
    /// The component's path.
    pub component: PathBuf,
    /// The project's language.
    pub language: Language,
    /// How long the build took.
    pub duration: Duration,
    /// What the build found that may fail at run time (Python: imports it
    /// could not resolve, with the file and line).
    pub warnings: Vec<String>,
    /// Whether the component was already there, built from the same
    /// inputs, so nothing was built (every language but Rust).
    pub unchanged: bool,
}

/// Detects the language of the project in `dir` (the rules are in
/// `detect.rs`): the one language its files name, or an error that names
/// each language found and the `--language` flag.
pub fn detect_language(dir: &Path) -> Result<Language> {
    detect::detect(dir, None)
}

/// The project's name: its folder's name.
fn project_name(dir: &Path) -> String {
    dir.canonicalize()
        .ok()
        .and_then(|dir| {
            dir.file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "function".to_string())
}

/// Builds the project, calling `progress` with short status messages while
/// the toolchain works.
pub fn build(options: &BuildOptions, progress: &mut dyn FnMut(&str)) -> Result<BuildOutput> {
    let started = Instant::now();
    let language = match options.language {
        Some(language) => language,
        None => detect::detect(&options.dir, options.handler.as_deref())?,
    };
    let toolchain = toolchain(language);
    if !options.layers.is_empty() && !toolchain.takes_layers() {
        bail!("--layer applies to Python and JavaScript handlers, not to a {language:?} one");
    }
    let runtime = match &options.runtime {
        None => toolchain.default_runtime(),
        // A language with versions checks the choice as it builds.
        Some(chosen)
            if !toolchain.runtimes().is_empty() || chosen == toolchain.default_runtime() =>
        {
            chosen
        }
        Some(chosen) => bail!(
            "--runtime {chosen} does not apply to a {language:?} handler (it builds for {})",
            toolchain.default_runtime()
        ),
    };
    let job = Job {
        dir: &options.dir,
        handler: options.handler_or(toolchain.default_handler()),
        runtime,
        layers: &options.layers,
        target_dir: options.target_dir.as_deref(),
    };
    // A project whose inputs did not change since the component at the
    // output path was built from them gets that component back.
    let cache = match toolchain.cache_inputs() {
        Some(inputs) => {
            let output = options
                .output
                .clone()
                .unwrap_or_else(|| default_output(&options.dir, &project_name(&options.dir)));
            let layers: Vec<String> = options
                .layers
                .iter()
                .map(|layer| layer.to_string_lossy().into_owned())
                .collect();
            let fingerprint = build_cache::fingerprint(
                &options.dir,
                &options.layers,
                &[
                    language.flag(),
                    &job.handler,
                    job.runtime,
                    &output.to_string_lossy(),
                    &layers.join("\0"),
                ],
                &inputs,
            )?;
            if let Some(warnings) = build_cache::current(&fingerprint, &output) {
                return Ok(BuildOutput {
                    component: output,
                    language,
                    duration: started.elapsed(),
                    warnings,
                    unchanged: true,
                });
            }
            build_cache::forget(&output);
            Some(fingerprint)
        }
        None => None,
    };
    let (component, name, warnings) = match toolchain.build(&job, progress)? {
        Made::Component {
            bytes,
            name,
            warnings,
        } => (bytes, name, warnings),
        Made::CoreModule(module) => {
            progress("making a component");
            (
                core_module::componentize(&module, HANDLER_WIT)?,
                None,
                Vec::new(),
            )
        }
    };
    let name = name.unwrap_or_else(|| project_name(&options.dir));
    let output = options
        .output
        .clone()
        .unwrap_or_else(|| default_output(&options.dir, &name));
    if !wasmparser::Parser::is_component(&component) {
        bail!("the {language:?} toolchain produced a core module, not a component");
    }
    let marked = wasm_lambda_core::marker::append_runtime(&component, runtime);
    if let Some(parent) = output.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("failed to create {}", parent.display()))?;
    }
    std::fs::write(&output, marked)
        .with_context(|| format!("failed to write {}", output.display()))?;
    if let Some(fingerprint) = cache {
        build_cache::record(&fingerprint, &output, &warnings);
    }
    Ok(BuildOutput {
        component: output,
        language,
        duration: started.elapsed(),
        warnings,
        unchanged: false,
    })
}

/// Where a project's component goes when no output is given.
fn default_output(dir: &Path, name: &str) -> PathBuf {
    dir.join("build").join(format!("{name}.wasm"))
}
