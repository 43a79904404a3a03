//! `wasm-lambda build`: turns a handler project into a component.
//!
//! The language is detected from the project's files; each language has a
//! module that knows its toolchain. Every build ends the same way: the
//! component is checked, marked with its runtime (see [`crate::marker`]) and
//! written to `<dir>/build/<name>.wasm`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

mod assemblyscript;
mod c;
mod core;
mod go;
mod js;
mod python;
mod rust;
mod tools;
mod zig;

pub use js::DEFAULT_HANDLER as DEFAULT_JS_HANDLER;
pub use js::RUNTIMES as JS_RUNTIMES;
pub use python::DEFAULT_HANDLER as DEFAULT_PYTHON_HANDLER;

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
        match self {
            Language::Rust => "rust",
            Language::Python => python::RUNTIME,
            Language::JavaScript => js::RUNTIME,
            Language::C => "c",
            Language::Go => "go",
            Language::Zig => "zig",
            Language::AssemblyScript => "assemblyscript",
        }
    }
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
}

/// Detects the language of the project in `dir`.
pub fn detect_language(dir: &Path) -> Result<Language> {
    if !dir.is_dir() {
        bail!("{} is not a folder", dir.display());
    }
    if dir.join("Cargo.toml").is_file() {
        return Ok(Language::Rust);
    }
    if go::detect(dir) {
        return Ok(Language::Go);
    }
    if assemblyscript::detect(dir) {
        return Ok(Language::AssemblyScript);
    }
    if zig::detect(dir) {
        return Ok(Language::Zig);
    }
    if c::detect(dir) {
        return Ok(Language::C);
    }
    if js::detect(dir) {
        return Ok(Language::JavaScript);
    }
    if python::detect(dir) {
        return Ok(Language::Python);
    }
    bail!(
        "cannot tell the language of {}: expected a Cargo.toml (Rust), a package.json or \
         .mjs files (JavaScript), .py files (Python), .c files (C), a go.mod (Go), .zig files (Zig) or .ts files (AssemblyScript)",
        dir.display()
    )
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
    let language = match python::defining_module(&options.dir, options.handler.as_deref()) {
        // A Python module that defines the handler wins over whatever else
        // the folder holds: Serverless Framework projects keep a
        // package.json beside handler.py for their plugins.
        Some(module) if !options.dir.join("Cargo.toml").is_file() => {
            progress(&format!("Python: {} defines the handler", module.display()));
            Language::Python
        }
        _ => detect_language(&options.dir)?,
    };
    let mut warnings = Vec::new();
    let mut runtime = language.runtime().to_string();
    if !options.layers.is_empty() && !matches!(language, Language::Python | Language::JavaScript) {
        bail!("--layer applies to Python and JavaScript handlers, not to a {language:?} one");
    }
    if let Some(chosen) = &options.runtime
        && language != Language::JavaScript
        && *chosen != runtime
    {
        bail!(
            "--runtime {chosen} does not apply to a {language:?} handler (it builds for {runtime})"
        );
    }
    let (name, component) = match language {
        Language::Rust => rust::build(&options.dir, options.target_dir.as_deref(), progress)?,
        Language::Python => {
            let handler = options.handler_or(python::DEFAULT_HANDLER);
            let (component, found) =
                python::build(&options.dir, &handler, &options.layers, progress)?;
            warnings = found;
            (project_name(&options.dir), component)
        }
        Language::JavaScript => {
            let handler = options.handler_or(js::DEFAULT_HANDLER);
            if let Some(chosen) = &options.runtime {
                runtime = chosen.clone();
            }
            let component = js::build(&options.dir, &handler, &runtime, &options.layers, progress)?;
            (project_name(&options.dir), component)
        }
        Language::C | Language::Go | Language::Zig | Language::AssemblyScript => {
            let module = match language {
                Language::C => c::build(&options.dir, progress)?,
                Language::Go => go::build(&options.dir, progress)?,
                Language::Zig => zig::build(&options.dir, progress)?,
                _ => assemblyscript::build(&options.dir, progress)?,
            };
            progress("making a component");
            let component = core::componentize(&module, core::WIT)?;
            (project_name(&options.dir), component)
        }
    };
    let output = options
        .output
        .clone()
        .unwrap_or_else(|| options.dir.join("build").join(format!("{name}.wasm")));
    if !wasmparser::Parser::is_component(&component) {
        bail!("the {language:?} toolchain produced a core module, not a component");
    }
    let marked = crate::marker::append_runtime(&component, &runtime);
    if let Some(parent) = output.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("failed to create {}", parent.display()))?;
    }
    std::fs::write(&output, marked)
        .with_context(|| format!("failed to write {}", output.display()))?;
    Ok(BuildOutput {
        component: output,
        language,
        duration: started.elapsed(),
        warnings,
    })
}
