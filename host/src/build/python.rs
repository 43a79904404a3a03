//! Python handlers: the user's module, the Python SDK and pure-Python
//! dependencies, turned into a component by componentize-py.
//!
//! The SDK and the WIT are compiled into this binary, so a build needs only
//! componentize-py (installed by `scripts/setup.sh` into `.venv`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};

use super::tools::{copy_sources, find_tool, staging_dir};

/// The default handler setting, as in Lambda's console.
pub const DEFAULT_HANDLER: &str = "lambda_function.lambda_handler";

/// The Python inside componentize-py 0.25.
pub const RUNTIME: &str = "python3.14";

const APP_MODULE: &str = "wasm_lambda_app";
const SDK_FILES: &[(&str, &str)] = &[
    (
        "wasm_lambda_app.py",
        include_str!("../../../guest-sdk/python/wasm_lambda_app.py"),
    ),
    (
        "wasm_lambda_runtime.py",
        include_str!("../../../guest-sdk/python/wasm_lambda_runtime.py"),
    ),
];
const WIT: &str = include_str!("../../../guest-sdk/wit/handler.wit");
const BUILD_ERROR_PREFIX: &str = "wasm-lambda-build-error: ";
/// The file the SDK writes its build warnings to, in the code folder.
const WARNINGS_FILE: &str = "wasm_lambda_build_warnings.txt";

/// Folders never bundled as the function's code.
const SKIPPED_DIRS: &[&str] = &["build", "__pycache__", "node_modules", "venv"];

/// Whether `dir` looks like a Python handler project: `.py` files in it or
/// in its packages (a handler may be `src/app.handler`).
pub(super) fn detect(dir: &Path) -> bool {
    has_python(dir, 3)
}

fn has_python(dir: &Path, depth: u32) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            depth > 0
                && !name.starts_with('.')
                && !SKIPPED_DIRS.contains(&name.as_ref())
                && has_python(&path, depth - 1)
        } else {
            name.ends_with(".py")
        }
    })
}

/// The Python file that defines the handler: the module the handler setting
/// names (`src/app.handler` → `src/app.py`, `pkg.mod.fn` → `pkg/mod.py`), or
/// with no setting (nor `$_HANDLER`), Lambda's default `lambda_function.py`.
pub(super) fn defining_module(dir: &Path, handler: Option<&str>) -> Option<PathBuf> {
    let handler = handler
        .map(str::to_string)
        .or_else(|| std::env::var("_HANDLER").ok())
        .unwrap_or_else(|| DEFAULT_HANDLER.to_string());
    let (module, _function) = handler.rsplit_once('.')?;
    let relative = module.replace('.', "/");
    let file = dir.join(format!("{relative}.py"));
    file.is_file()
        .then(|| PathBuf::from(format!("{relative}.py")))
}

/// Builds the handler in `dir`; returns the component's bytes and the
/// build's warnings (imports that will be missing at run time).
pub(super) fn build(
    dir: &Path,
    handler: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<(Vec<u8>, Vec<String>)> {
    if !handler.contains('.') || handler.starts_with('.') || handler.ends_with('.') {
        bail!("the handler must be `module.function`, got {handler:?}");
    }
    let componentize = find_tool(
        "componentize-py",
        "WASM_LAMBDA_COMPONENTIZE_PY",
        ".venv/bin",
    )
    .context(
        "componentize-py not found: run scripts/setup.sh (it installs it into .venv), \
             or set WASM_LAMBDA_COMPONENTIZE_PY",
    )?;
    let staging = staging_dir("python")?;
    let wit = staging.path().join("wit");
    let sdk = staging.path().join("sdk");
    let code = staging.path().join("code");
    let deps = staging.path().join("deps");
    for folder in [&wit, &sdk, &code, &deps] {
        std::fs::create_dir_all(folder)?;
    }
    std::fs::write(wit.join("handler.wit"), WIT)?;
    for (name, text) in SDK_FILES {
        std::fs::write(sdk.join(name), text)?;
    }

    progress("collecting the function's code");
    let sources = copy_sources(dir, &code, SKIPPED_DIRS, &|name| name.ends_with(".py"))?;
    let config = format!(
        "# Written by `wasm-lambda build`.\nHANDLER = {}\nSOURCES = {}\n",
        python_string(handler),
        python_list(&sources)
    );
    std::fs::write(code.join("_wasm_lambda_config.py"), config)?;

    let requirements = dir.join("requirements.txt");
    if requirements.is_file() {
        progress("installing requirements.txt");
        install_requirements(&componentize, &requirements, &deps)?;
    }

    progress("running componentize-py");
    let output = staging.path().join("component.wasm");
    let mut child = Command::new(&componentize)
        .arg("-d")
        .arg(&wit)
        .args(["-w", "handler", "componentize", APP_MODULE])
        .arg("-p")
        .arg(&sdk)
        .arg("-p")
        .arg(&code)
        .arg("-p")
        .arg(&deps)
        .arg("-o")
        .arg(&output)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("failed to run {}", componentize.display()))?;
    let stderr = child.stderr.take().expect("stderr is piped");
    let stderr_reader = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let mut stdout_lines = Vec::new();
    for line in BufReader::new(child.stdout.take().expect("stdout is piped")).lines() {
        let line = line.context("failed to read componentize-py's output")?;
        if !line.trim().is_empty() {
            progress(line.trim());
        }
        stdout_lines.push(line);
    }
    let status = child.wait().context("failed to wait for componentize-py")?;
    let stderr_lines = stderr_reader.join().unwrap_or_default();
    // The SDK writes its warnings to a file beside the build's config:
    // componentize-py passes on none of the app's output while it snapshots.
    let warnings: Vec<String> = std::fs::read_to_string(code.join(WARNINGS_FILE))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    if !status.success() {
        // The SDK reports problems it finds in the user's code on a marked
        // line; show that alone rather than componentize-py's traceback.
        let all = stdout_lines.iter().chain(stderr_lines.iter());
        if let Some(error) = all
            .filter_map(|line| line.split_once(BUILD_ERROR_PREFIX).map(|(_, rest)| rest))
            .next()
        {
            bail!("{error}");
        }
        bail!(
            "componentize-py failed:\n{}\n{}",
            stdout_lines.join("\n"),
            stderr_lines.join("\n")
        );
    }
    let component =
        std::fs::read(&output).with_context(|| format!("failed to read {}", output.display()))?;
    Ok((component, warnings))
}

/// Installs pure-Python wheels for CPython 3.14 into `deps`. Wheels with
/// native extensions cannot run inside the component and are not offered
/// (`--platform any`), so pip names the package it cannot satisfy.
fn install_requirements(componentize: &Path, requirements: &Path, deps: &Path) -> Result<()> {
    let python = sibling_python(componentize);
    let output = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args([
            "--only-binary=:all:",
            "--platform",
            "any",
            "--implementation",
            "py",
        ])
        .args(["--python-version", "3.14", "--target"])
        .arg(deps)
        .arg("-r")
        .arg(requirements)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("failed to run {} -m pip", python.display()))?;
    if !output.status.success() {
        bail!(
            "failed to install {} (only pure-Python packages can run in a component):\n{}",
            requirements.display(),
            String::from_utf8_lossy(&output.stderr).trim_end()
        );
    }
    Ok(())
}

/// The Python of the environment componentize-py was installed in.
fn sibling_python(componentize: &Path) -> PathBuf {
    componentize
        .parent()
        .map(|bin| bin.join("python3"))
        .filter(|python| python.is_file())
        .unwrap_or_else(|| PathBuf::from("python3"))
}

fn python_string(text: &str) -> String {
    serde_json::to_string(text).expect("strings serialise")
}

fn python_list(items: &[String]) -> String {
    serde_json::to_string(items).expect("strings serialise")
}
