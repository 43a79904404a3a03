//! Python handlers: the user's module, the Python SDK and pure-Python
//! dependencies, turned into a component by componentize-py.
//!
//! The SDK and the WIT are compiled into this binary, so a build needs only
//! componentize-py (installed by `scripts/setup.sh` into `.venv`).

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};

use super::tools::{copy_sources, find_checkout_dir, find_tool, staging_dir, write_files};
use super::{Job, Language, Made, Toolchain};
use wasm_lambda_core::files;

/// The default handler setting, as in Lambda's console.
pub const DEFAULT_HANDLER: &str = "lambda_function.lambda_handler";

/// The Python inside componentize-py 0.25.
pub const RUNTIME: &str = "python3.14";
/// The Lambda runtimes `--runtime` may name. The interpreter is Python 3.14
/// for each; the runtime decides what else the handler finds beside it
/// (docs/python.md, "Runtimes").
pub const RUNTIMES: &[&str] = &[
    "python3.9",
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "python3.14",
];
/// The runtimes whose images ship setuptools (and so `pkg_resources`)
/// beside boto3; from python3.12 on Lambda's images leave it out.
const SETUPTOOLS_RUNTIMES: &[&str] = &["python3.9", "python3.10", "python3.11"];
/// What a handler imports to need setuptools.
const SETUPTOOLS_PACKAGES: &[&str] = &["pkg_resources", "setuptools"];

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
    (
        "wasm_lambda_http.py",
        include_str!("../../../guest-sdk/python/wasm_lambda_http.py"),
    ),
    (
        "wasm_lambda_ssl.py",
        include_str!("../../../guest-sdk/python/wasm_lambda_ssl.py"),
    ),
    (
        "wasm_lambda_threads.py",
        include_str!("../../../guest-sdk/python/wasm_lambda_threads.py"),
    ),
];
/// The Python world (the handler world plus `wasi:http`) and the WIT it
/// refers to, as `(path in the WIT folder, text)`.
const WIT: &[(&str, &str)] = &[
    (
        "python.wit",
        include_str!("../../../guest-sdk/python/wit/python.wit"),
    ),
    ("deps/handler.wit", super::HANDLER_WIT),
    (
        "deps/http.wit",
        include_str!("../../../guest-sdk/wasi/http.wit"),
    ),
    ("deps/io.wit", super::WASI_IO_WIT),
    ("deps/clocks.wit", super::WASI_CLOCKS_WIT),
    (
        "deps/random.wit",
        include_str!("../../../guest-sdk/wasi/random.wit"),
    ),
    (
        "deps/cli.wit",
        include_str!("../../../guest-sdk/wasi/cli.wit"),
    ),
    ("deps/filesystem.wit", super::WASI_FILESYSTEM_WIT),
    (
        "deps/sockets.wit",
        include_str!("../../../guest-sdk/wasi/sockets.wit"),
    ),
];
/// The world in `python.wit`.
const WORLD: &str = "python-handler";
/// Where a sandbox sees the function's code, as on Lambda.
const TASK_ROOT: &str = "/var/task";
/// The packages Lambda's Python runtime provides, for handlers that import
/// them without shipping them.
const RUNTIME_PACKAGES: &[&str] = &["boto3", "botocore"];
const BUILD_ERROR_PREFIX: &str = "wasm-lambda-build-error: ";
/// The file the SDK writes its build warnings to, in the code folder.
const WARNINGS_FILE: &str = "wasm_lambda_build_warnings.txt";

/// Folders never bundled as the function's code.
const SKIPPED_DIRS: &[&str] = &["build", "__pycache__", "node_modules", "venv"];
/// Files of the build itself, left out of the function's files.
const BUILD_FILES: &[&str] = &["_wasm_lambda_config.py", WARNINGS_FILE];

/// Whether `dir` or its subfolders, `depth` levels down, hold a `.py` file.
pub(super) fn has_python(dir: &Path, depth: u32) -> bool {
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
fn build(
    dir: &Path,
    handler: &str,
    runtime: &str,
    layers: &[PathBuf],
    progress: &mut dyn FnMut(&str),
) -> Result<(Vec<u8>, Vec<String>)> {
    if !handler.contains('.') || handler.starts_with('.') || handler.ends_with('.') {
        bail!("the handler must be `module.function`, got {handler:?}");
    }
    if !RUNTIMES.contains(&runtime) {
        bail!(
            "unknown Python runtime {runtime:?}: the runtimes are {}",
            RUNTIMES.join(", ")
        );
    }
    let componentize = componentize_py().context(
        "componentize-py not found: run scripts/setup.sh (it installs it into .venv), \
             or set WASM_LAMBDA_COMPONENTIZE_PY",
    )?;
    let staging = staging_dir("python")?;
    let wit = staging.path().join("wit");
    let sdk = staging.path().join("sdk");
    // The function's code and its dependencies share one folder, as in
    // Lambda's `/var/task` after `pip install -t .`.
    let code = staging.path().join("code");
    for folder in [&wit, &sdk, &code] {
        std::fs::create_dir_all(folder)?;
    }
    write_files(&wit, WIT)?;
    write_files(&sdk, SDK_FILES)?;

    progress("collecting the function's code");
    // Every file: handlers and packages read data files beside their code.
    let copied = copy_sources(dir, &code, SKIPPED_DIRS, &|_| true)?;
    // Extension modules built for WASI among them: packages installed into
    // the folder with their Linux extension get the component's build of
    // it (rust_extensions.rs). The bundle serves them by name, since it
    // serves their packages.
    let python = sibling_python(&componentize);
    let mut extensions = super::rust_extensions::replace_vendored(&python, &code, progress)?;
    for name in &copied {
        if name.ends_with(".so")
            && !extensions.contains(name)
            && super::rust_extensions::is_webassembly_file(&code.join(name))
        {
            extensions.push(name.clone());
        }
    }
    let sources: Vec<String> = copied
        .into_iter()
        .filter(|name| name.ends_with(".py"))
        .collect();

    let requirements = dir.join("requirements.txt");
    let mut repacked = Vec::new();
    if requirements.is_file() {
        progress("installing requirements.txt");
        repacked = install_requirements(&componentize, &requirements, &code, progress)?;
    }
    // Layers' packages, where Lambda's Python finds them under /opt:
    // `python/` and `python/lib/python3.x/site-packages/`.
    let layer_paths = layer_search_paths(layers)?;
    // Lambda's runtime provides boto3: add the pinned copy when the code
    // imports it (or botocore) and neither it nor a layer ships its own.
    let own: Vec<&PathBuf> = std::iter::once(&code).chain(&layer_paths).collect();
    let shipped = |name: &&str| {
        own.iter()
            .any(|folder| folder.join(name).join("__init__.py").is_file())
    };
    let runtime_packages =
        if imports_any(&own, RUNTIME_PACKAGES)? && !RUNTIME_PACKAGES.iter().all(shipped) {
            let found = runtime_packages_dir().context(
                "the handler imports boto3, which Lambda's runtime provides, but the pinned copy \
             is missing: run scripts/setup.sh (it installs it into .venv/lambda-runtime), \
             set WASM_LAMBDA_PYTHON_RUNTIME_PACKAGES, or list boto3 in requirements.txt",
            )?;
            progress("adding boto3, as Lambda's runtime provides it");
            Some(found)
        } else {
            None
        };
    // The older runtimes' images also ship setuptools: add the pinned copy
    // when the code imports `pkg_resources` or `setuptools` and ships
    // neither.
    let setuptools = if SETUPTOOLS_RUNTIMES.contains(&runtime)
        && imports_any(&own, SETUPTOOLS_PACKAGES)?
        && !SETUPTOOLS_PACKAGES.iter().any(shipped)
    {
        let found = setuptools_dir().with_context(|| {
            format!(
                "the handler imports pkg_resources, which Lambda's {runtime} provides, but the \
                 pinned setuptools is missing: run scripts/setup.sh (it installs it into \
                 .venv/lambda-runtime-setuptools), or list setuptools in requirements.txt"
            )
        })?;
        progress(&format!(
            "adding setuptools, as Lambda's {runtime} provides it"
        ));
        Some(found)
    } else {
        None
    };

    // The standard library the snapshot did not import is copied out of
    // componentize-py by the SDK (into the next `/n` path), once per
    // componentize-py, and mounted at `/python`, where the build saw it.
    let stdlib = stdlib_copy(&componentize)?;
    // componentize-py puts the n-th path at `/n` in the sandbox: the
    // function's files are mounted at the same places (see below). The
    // order is Lambda's: the code, layers, the runtime's boto3.
    let mut search_paths = vec![sdk.clone(), code.clone()];
    search_paths.extend(layer_paths.iter().cloned());
    search_paths.extend(runtime_packages.iter().cloned());
    search_paths.extend(setuptools.iter().cloned());
    let stdlib_guest_path = format!("/{}", search_paths.len());
    search_paths.push(stdlib.dir.clone());
    let mut config = format!(
        "# Written by `wasm-lambda build`.\nHANDLER = {}\nSOURCES = {}\n",
        python_string(handler),
        python_list(&sources)
    );
    if !extensions.is_empty() {
        config.push_str(&format!("EXTENSIONS = {}\n", python_list(&extensions)));
    }
    let repacked_modules: Vec<String> = repacked
        .iter()
        .flat_map(|(_, modules)| modules.iter().cloned())
        .collect();
    if !repacked_modules.is_empty() {
        config.push_str(&format!("REPACKED = {}\n", python_list(&repacked_modules)));
    }
    if !stdlib.complete {
        config.push_str(&format!(
            "STDLIB_COPY = {}\n",
            python_string(&stdlib_guest_path)
        ));
    }
    std::fs::write(code.join("_wasm_lambda_config.py"), config)?;

    progress("running componentize-py");
    let output = staging.path().join("component.wasm");
    // componentize-py adds the site-packages of a virtual environment to
    // the paths the snapshot sees: VIRTUAL_ENV's, else `pipenv --venv`'s,
    // else those of the `python3` on PATH (the building machine's own
    // packages). An empty one of the build's own is all it finds, so the
    // snapshot sees only the paths above. Enforced by the build_isolation
    // tests.
    let no_packages = staging.path().join("no-packages");
    std::fs::create_dir_all(no_packages.join("lib").join("site-packages"))?;
    let mut child = Command::new(&componentize)
        .env("VIRTUAL_ENV", &no_packages)
        .env_remove("PYTHONPATH")
        .arg("-d")
        .arg(&wit)
        .args(["-w", WORLD, "componentize", APP_MODULE])
        .args(
            search_paths
                .iter()
                .flat_map(|path| [OsStr::new("-p"), path.as_os_str()]),
        )
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
    // A package taken from its Linux wheel must import without its compiled
    // part; the SDK's warning for one that does not becomes the build's
    // error.
    for warning in &warnings {
        let module = warning
            .strip_prefix("importing ")
            .or_else(|| warning.strip_prefix("cannot import "))
            .and_then(|rest| rest.split([' ', '.']).next())
            .unwrap_or_default();
        if let Some((spec, _)) = repacked
            .iter()
            .find(|(_, modules)| modules.iter().any(|name| name == module))
        {
            bail!(
                "{}",
                super::wheels::needs_compiled_part(spec, &format!("without it, {warning}"))
            );
        }
    }
    let component =
        std::fs::read(&output).with_context(|| format!("failed to read {}", output.display()))?;

    // What the snapshot did not import is read at run time from the
    // function's files: modules imported lazily, package data, the handler's
    // own files. They are mounted where the build saw them (`/1`, `/2`, ...),
    // so paths computed while importing stay right; the code also at
    // `/var/task`, the standard library at `/python`.
    progress("packing the function's files");
    let folders: Vec<files::Folder> = search_paths
        .iter()
        .enumerate()
        .skip(1)
        .map(|(index, path)| {
            let guest_paths = if *path == code {
                vec![TASK_ROOT.to_string(), format!("/{index}")]
            } else if *path == stdlib.dir {
                vec!["/python".to_string()]
            } else {
                vec![format!("/{index}")]
            };
            files::Folder {
                source: path.clone(),
                guest_paths,
            }
        })
        .collect();
    // componentize-py linked the extension modules built for WASI into the
    // component, and loads one by its path from that list, never from the
    // file: the file stays (an import finds the module by listing its
    // folder), empty, rather than a second copy of the library.
    for relative in files::list(&code, &skip_file)? {
        let path = code.join(&relative);
        if relative.extension().is_some_and(|ext| ext == "so")
            && super::rust_extensions::is_webassembly_file(&path)
        {
            std::fs::write(&path, b"")
                .with_context(|| format!("failed to write {}", path.display()))?;
        }
    }
    let archive = files::pack(&folders, &skip_file)?;
    stdlib.keep()?;
    Ok((files::append(&component, &archive), warnings))
}

/// The folders of `layers` Python imports from, in Lambda's order: each
/// layer's `python/lib/python3.x/site-packages/`, then its `python/`.
fn layer_search_paths(layers: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for layer in layers {
        let python = layer.join("python");
        if !python.is_dir() {
            bail!(
                "the layer {} has no python/ folder (Lambda's Python imports a layer's \
                 packages from python/ and python/lib/python3.x/site-packages/)",
                layer.display()
            );
        }
        if let Ok(entries) = std::fs::read_dir(python.join("lib")) {
            let mut versions: Vec<PathBuf> = entries
                .flatten()
                .map(|entry| entry.path().join("site-packages"))
                .filter(|path| path.is_dir())
                .collect();
            versions.sort();
            paths.extend(versions);
        }
        paths.push(std::path::absolute(&python)?);
    }
    Ok(paths)
}

/// Marks a finished copy of the standard library.
const STDLIB_COMPLETE: &str = ".complete";

/// Where the copy of componentize-py's standard library lives.
struct StdlibCopy {
    dir: PathBuf,
    /// Whether it holds the copy already; else this build makes it, in a
    /// folder of its own that [`StdlibCopy::keep`] moves into place.
    complete: bool,
    target: PathBuf,
    _staging: Option<tempfile::TempDir>,
}

impl StdlibCopy {
    /// Keeps a copy this build made for the next builds. Concurrent builds
    /// each make one; the first to finish wins, the others' are dropped.
    fn keep(mut self) -> Result<()> {
        if self.complete {
            return Ok(());
        }
        std::fs::write(self.dir.join(STDLIB_COMPLETE), "")?;
        if let Some(staging) = self._staging.take() {
            let path = staging.keep();
            if std::fs::rename(&path, &self.target).is_err() {
                let _ = std::fs::remove_dir_all(&path);
            }
        }
        Ok(())
    }
}

/// The folder for the standard library of this componentize-py, in the
/// user's cache folder (one copy per componentize-py binary).
fn stdlib_copy(componentize: &Path) -> Result<StdlibCopy> {
    let binary = std::fs::metadata(componentize)
        .with_context(|| format!("failed to read {}", componentize.display()))?;
    let modified = binary
        .modified()
        .ok()
        .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |time| time.as_secs());
    let key =
        blake3::hash(format!("{}|{}|{modified}", componentize.display(), binary.len()).as_bytes());
    let parent = wasm_lambda_core::default_cache_dir().join("python-stdlib");
    let target = parent.join(&key.to_hex()[..16]);
    if target.join(STDLIB_COMPLETE).is_file() {
        return Ok(StdlibCopy {
            dir: target.clone(),
            complete: true,
            target,
            _staging: None,
        });
    }
    std::fs::create_dir_all(&parent)
        .with_context(|| format!("failed to create {}", parent.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".copying-")
        .tempdir_in(&parent)?;
    Ok(StdlibCopy {
        dir: staging.path().to_path_buf(),
        complete: false,
        target,
        _staging: Some(staging),
    })
}

/// Files the function's files leave out: compiled bytecode (Python compiles
/// again, in memory), the build's own files, botocore's API examples (used
/// only for documentation).
fn skip_file(relative: &Path) -> bool {
    let name = relative
        .file_name()
        .map(|name| name.to_string_lossy())
        .unwrap_or_default();
    name == "__pycache__"
        || name.starts_with('.')
        || name.ends_with(".pyc")
        || name == "examples-1.json"
        || (relative.parent() == Some(Path::new("")) && BUILD_FILES.contains(&name.as_ref()))
        || relative == Path::new("bin")
}

/// Whether a Python file under one of `folders` imports one of `packages` (a line
/// `import boto3...` or `from botocore...`, anywhere in the file: imports
/// inside functions count).
fn imports_any(folders: &[&PathBuf], packages: &[&str]) -> Result<bool> {
    for folder in folders {
        for relative in files::list(folder, &|_| false)? {
            if relative.extension().is_some_and(|ext| ext == "py") {
                let text = std::fs::read_to_string(folder.join(relative)).unwrap_or_default();
                if text.lines().any(|line| imports_from(line, packages)) {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}

fn imports_from(line: &str, packages: &[&str]) -> bool {
    let line = line.trim_start();
    let rest = line
        .strip_prefix("import ")
        .or_else(|| line.strip_prefix("from "));
    rest.is_some_and(|rest| {
        rest.split(',').any(|name| {
            let name = name.trim();
            packages.iter().any(|package| {
                name.strip_prefix(package)
                    .is_some_and(|after| after.is_empty() || after.starts_with(['.', ' ']))
            })
        })
    })
}

/// Installs pure-Python wheels for CPython 3.14 into `deps`. Wheels with
/// native extensions cannot run inside the component and are not offered
/// (`--platform any`), so pip names the package it cannot satisfy.
/// Installs `requirements` into `deps`; the packages that had platform
/// wheels only, as (requirement, top-level modules), whose imports must then
/// work without their compiled part.
fn install_requirements(
    componentize: &Path,
    requirements: &Path,
    deps: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<(String, Vec<String>)>> {
    let folder = requirements.parent().unwrap_or(Path::new("."));
    check_requirements(folder, requirements, 0)?;
    let python = sibling_python(componentize);
    // The wheels made for the component (rust_extensions.rs, wheels.rs),
    // offered to pip beside its index.
    let wheels = tempfile::tempdir_in(deps.parent().unwrap_or(deps))?;
    for (name, version) in super::rust_extensions::planned(&python, requirements)? {
        super::rust_extensions::wheel(&python, &name, &version, wheels.path(), progress)
            .with_context(|| format!("failed to install {}", requirements.display()))?;
    }
    let first = pip_install(&python, requirements, deps, wheels.path())?;
    if first.status.success() {
        return Ok(Vec::new());
    }
    let stderr = String::from_utf8_lossy(&first.stderr).to_string();
    let failed = |stderr: &str| {
        anyhow::anyhow!(
            "failed to install {} (only pure-Python packages can run in a component):\n{}",
            requirements.display(),
            stderr.trim_end()
        )
    };
    let unmatched = super::wheels::unmatched(&stderr);
    if unmatched.is_empty() {
        return Err(failed(&stderr));
    }
    // Packages with platform wheels only: their Python code, without the
    // compiled part, offered to pip again (wheels.rs).
    let mut repacked = Vec::new();
    for spec in &unmatched {
        let made = super::wheels::pure_wheel(&python, spec, wheels.path())
            .with_context(|| format!("failed to install {}", requirements.display()))?;
        progress(&format!(
            "{spec} has no pure-Python wheel: taking the Python code of its Linux wheel, \
             without its {} compiled file(s)",
            made.left_out
        ));
        repacked.push((spec.clone(), made.modules));
    }
    let second = pip_install(&python, requirements, deps, wheels.path())?;
    if !second.status.success() {
        return Err(failed(&String::from_utf8_lossy(&second.stderr)));
    }
    Ok(repacked)
}

/// `pip install` of `requirements` into `deps`: pure-Python wheels for the
/// component's Python only, and the wheels made in `find_links` (if any).
fn pip_install(
    python: &Path,
    requirements: &Path,
    deps: &Path,
    find_links: &Path,
) -> Result<std::process::Output> {
    let mut command = Command::new(python);
    command
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
        ])
        .args([
            "--only-binary=:all:",
            "--platform",
            "any",
            "--implementation",
            "py",
        ])
        .args(["--python-version", "3.14", "--target"])
        .arg(deps);
    if std::fs::read_dir(find_links).is_ok_and(|mut entries| entries.next().is_some()) {
        command.arg("--find-links").arg(find_links);
    }
    command
        .arg("-r")
        .arg(requirements)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("failed to run {} -m pip", python.display()))
}

/// Refuses a requirements file that would make pip read the building
/// machine (a path, a `file:` URL, `--find-links`, an editable install, a
/// nested file outside the function's folder), build a package from source
/// (`--no-binary`, a direct reference) or change where packages come from
/// (`--index-url` and its kin belong in pip's own configuration, which the
/// machine's owner sets). Requirements are names with versions, extras and
/// markers, `--hash`es, and `-r`/`-c` files inside the function's folder.
fn check_requirements(folder: &Path, file: &Path, depth: usize) -> Result<()> {
    const NESTED_MAX: usize = 8;
    const ALLOWED_OPTIONS: &[&str] = &["--hash", "--pre", "--prefer-binary"];
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("failed to read {}", file.display()))?;
    let shown = file
        .strip_prefix(folder)
        .unwrap_or(file)
        .display()
        .to_string();
    let joined = text.replace("\\\n", " ");
    for (index, raw) in joined.lines().enumerate() {
        let line = match raw.find(" #") {
            Some(comment) => &raw[..comment],
            None if raw.trim_start().starts_with('#') => "",
            None => raw,
        }
        .trim();
        if line.is_empty() {
            continue;
        }
        let refuse = |why: &str| anyhow::anyhow!("{shown}, line {}: {line:?} {why}", index + 1);
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or_default();
        if first.starts_with('-') {
            let (option, value) = match first.split_once('=') {
                Some((option, value)) => (option, Some(value.to_string())),
                None => (first, words.next().map(str::to_string)),
            };
            match option {
                "-r" | "--requirement" | "-c" | "--constraint" => {
                    let nested = value.ok_or_else(|| refuse("names no file"))?;
                    let path = file.parent().unwrap_or(folder).join(&nested);
                    let inside = path
                        .canonicalize()
                        .ok()
                        .zip(folder.canonicalize().ok())
                        .is_some_and(|(path, folder)| path.starts_with(folder));
                    if !inside || depth >= NESTED_MAX {
                        return Err(refuse(
                            "names a file outside the function's folder (or nests too deep)",
                        ));
                    }
                    check_requirements(folder, &path, depth + 1)?;
                }
                option if ALLOWED_OPTIONS.contains(&option) => {}
                _ => {
                    return Err(refuse(
                        "is an option the build does not take: packages come from the index \
                         pip is configured with, as binary wheels (set an index in pip's own \
                         configuration, e.g. PIP_INDEX_URL)",
                    ));
                }
            }
            continue;
        }
        // The requirement itself: before its markers and its options.
        let requirement = line
            .split(';')
            .next()
            .and_then(|spec| spec.split(" -").next())
            .unwrap_or_default()
            .trim();
        let local = requirement.contains('@')
            || requirement.contains("://")
            || requirement.contains('/')
            || requirement.contains('\\')
            || requirement.starts_with('.')
            || requirement.starts_with('~')
            || [".whl", ".zip", ".tar.gz", ".tgz"]
                .iter()
                .any(|ext| requirement.ends_with(ext));
        if local {
            return Err(refuse(
                "is a path, a URL or a direct reference: requirements are package names \
                 (with versions, extras and markers), installed as binary wheels",
            ));
        }
        if let Some(option) = words.find(|word| {
            word.starts_with('-')
                && !ALLOWED_OPTIONS.contains(&word.split('=').next().unwrap_or_default())
        }) {
            return Err(refuse(&format!(
                "carries the option {option}, which the build does not take"
            )));
        }
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

/// Python's row of the toolchain table.
pub(super) struct Python;

/// componentize-py: `$WASM_LAMBDA_COMPONENTIZE_PY`, the checkout's
/// `.venv/bin`, or `PATH`.
fn componentize_py() -> Option<PathBuf> {
    find_tool(
        "componentize-py",
        "WASM_LAMBDA_COMPONENTIZE_PY",
        ".venv/bin",
    )
}

/// The pinned setuptools of the older runtimes, installed by the setup.
fn setuptools_dir() -> Option<PathBuf> {
    find_checkout_dir(
        ".venv/lambda-runtime-setuptools",
        "pkg_resources/__init__.py",
        "WASM_LAMBDA_PYTHON_SETUPTOOLS",
    )
}

/// The pinned copy of the packages Lambda's Python runtime provides
/// (boto3), installed by the setup.
fn runtime_packages_dir() -> Option<PathBuf> {
    find_checkout_dir(
        ".venv/lambda-runtime",
        "boto3/__init__.py",
        "WASM_LAMBDA_PYTHON_RUNTIME_PACKAGES",
    )
}

impl Toolchain for Python {
    fn language(&self) -> Language {
        Language::Python
    }

    fn default_runtime(&self) -> &'static str {
        RUNTIME
    }

    fn runtimes(&self) -> &'static [&'static str] {
        RUNTIMES
    }

    fn cache_inputs(&self) -> Option<crate::build_cache::ToolchainInputs> {
        // componentize-py (its version is its executable), and the pinned
        // boto3 by its packages' first files (a reinstall rewrites them).
        let mut paths: Vec<PathBuf> = componentize_py().into_iter().collect();
        if let Some(runtime) = runtime_packages_dir() {
            for package in RUNTIME_PACKAGES {
                paths.push(runtime.join(package).join("__init__.py"));
            }
        }
        if let Some(setuptools) = setuptools_dir() {
            paths.push(setuptools.join("pkg_resources").join("__init__.py"));
        }
        Some(crate::build_cache::ToolchainInputs {
            paths,
            variables: &[
                "WASM_LAMBDA_COMPONENTIZE_PY",
                "WASM_LAMBDA_PYTHON_RUNTIME_PACKAGES",
                "WASM_LAMBDA_PYTHON_SETUPTOOLS",
                "VIRTUAL_ENV",
            ],
        })
    }

    fn default_handler(&self) -> &'static str {
        DEFAULT_HANDLER
    }

    fn takes_layers(&self) -> bool {
        true
    }

    fn build(&self, job: &Job<'_>, progress: &mut dyn FnMut(&str)) -> Result<Made> {
        let (bytes, warnings) = build(job.dir, &job.handler, job.runtime, job.layers, progress)?;
        Ok(Made::Component {
            bytes,
            name: None,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::check_requirements;

    fn check(text: &str) -> Result<(), String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("nested.txt"), "six==1.16.0\n").unwrap();
        let file = dir.path().join("requirements.txt");
        std::fs::write(&file, text).unwrap();
        check_requirements(dir.path(), &file, 0).map_err(|error| format!("{error:#}"))
    }

    #[test]
    fn requirements_as_people_write_them_pass() {
        for text in [
            "requests==2.32.3\n",
            "# pinned\nrequests >= 2.0, != 2.1  # the client\n\n",
            "requests[socks]==2.32.3 ; python_version >= \"3.8\"\n",
            "PyJWT==2.8.0 \\\n    --hash=sha256:abc \\\n    --hash=sha256:def\n",
            "-r nested.txt\n-c nested.txt\n--prefer-binary\n",
            "--requirement=nested.txt\n",
        ] {
            assert_eq!(check(text), Ok(()), "{text}");
        }
    }

    #[test]
    fn requirements_reaching_the_machine_or_building_from_source_are_refused() {
        for text in [
            "/srv/secret.whl\n",
            "./vendor/pkg\n",
            "pkg @ file:///etc/passwd\n",
            "pkg @ https://example.com/pkg.whl\n",
            "https://example.com/pkg-1.0.tar.gz\n",
            "-e .\n",
            "-r /etc/passwd\n",
            "-r ../outside.txt\n",
            "--find-links /srv\nsix\n",
            "--index-url http://127.0.0.1/simple\nsix\n",
            "--no-binary :all:\nsix\n",
            "six --no-binary=six\n",
        ] {
            let refused = check(text).expect_err(text);
            assert!(refused.contains("requirements.txt, line"), "{refused}");
        }
    }
}
