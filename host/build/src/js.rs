//! JavaScript handlers (Node.js style), turned into a component by
//! componentize-js through the build script in `guest-sdk/js`.
//!
//! Modules are what Node.js decides: `.mjs`, and `.js` in a package with
//! `"type": "module"`, are ES modules; `.cjs`, and `.js` otherwise, are
//! CommonJS. Every handler is bundled into one ES module by esbuild
//! (`guest-sdk/js/bundle.mjs`), which resolves `require` of relative files,
//! JSON files and packages, brings ports of the Node.js built-ins
//! (`Buffer`, `crypto`, `zlib`, ...) and keeps the handler's module from
//! running until the init phase: `init` (run once by the host at load,
//! which then snapshots the instance) or the first call.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};

use super::tools::{copy_sources, find_checkout_dir, staging_dir, write_files};
use super::{Job, Language, Made, Toolchain};

/// The default handler setting, as in Lambda's console.
pub const DEFAULT_HANDLER: &str = "index.handler";

/// The Node.js runtime whose behaviour the SDK follows by default.
pub const RUNTIME: &str = "nodejs24.x";

/// The Node.js runtimes a build may target (`--runtime`): 20.x and 22.x run
/// callback handlers, 24.x refuses them, as on Lambda.
pub const RUNTIMES: &[&str] = &["nodejs20.x", "nodejs22.x", "nodejs24.x"];

/// The major version of a runtime of [`RUNTIMES`].
fn node_major(runtime: &str) -> Result<u32> {
    if !RUNTIMES.contains(&runtime) {
        bail!(
            "unknown JavaScript runtime {runtime:?}: the runtimes are {}",
            RUNTIMES.join(", ")
        );
    }
    Ok(runtime
        .trim_start_matches("nodejs")
        .trim_end_matches(".x")
        .parse()
        .expect("the runtimes are well-formed"))
}

const RUNTIME_MODULE: &str = include_str!("../../../guest-sdk/js/runtime.mjs");

/// The world of handlers that use `fs`: the handler world plus WASI's
/// filesystem, which the SDK's `fs` reads the function's files with, and the
/// WIT it refers to.
const FS_WIT: &[(&str, &str)] = &[
    ("js.wit", include_str!("../../../guest-sdk/js/wit/js.wit")),
    ("deps/handler.wit", super::HANDLER_WIT),
    ("deps/filesystem.wit", super::WASI_FILESYSTEM_WIT),
    ("deps/io.wit", super::WASI_IO_WIT),
    ("deps/clocks.wit", super::WASI_CLOCKS_WIT),
];

/// What a bundle that uses the SDK's `fs` imports.
const FS_IMPORT: &str = "wasi:filesystem/preopens@";

/// The Node.js built-in modules `guest-sdk/js/bundle.mjs` provides.
const PORTED_BUILTINS: &[&str] = &[
    "buffer",
    "events",
    "util",
    "path",
    "url",
    "querystring",
    "string_decoder",
    "assert",
    "stream",
    "zlib",
    "crypto",
    "os",
    "timers",
    "process",
    "stream/promises",
    "timers/promises",
    "util/types",
    "fs",
    "fs/promises",
];

/// Folders of the project that are not the function's code or files: the
/// build's output, packages (bundled from where they are) and version
/// control. Neither copied for bundling nor packed.
const SKIPPED_DIRS: &[&str] = &["build", "node_modules", ".git"];

/// The text of every file of the function's code (files that are not
/// UTF-8 have none), read once for the checks below.
fn code_texts(code: &Path) -> Result<Vec<String>> {
    Ok(wasm_lambda_core::files::list(code, &|_| false)?
        .into_iter()
        .filter_map(|relative| std::fs::read_to_string(code.join(relative)).ok())
        .collect())
}

/// Whether a file uses a Node.js built-in module (by `require`/`import` of
/// its name, with or without `node:`) or the global `Buffer`, which only the
/// bundled build provides.
fn uses_node_builtins(text: &str) -> bool {
    text.contains("Buffer")
        || text.contains("'node:")
        || text.contains("\"node:")
        || PORTED_BUILTINS.iter().any(|name| {
            text.contains(&format!("'{name}'")) || text.contains(&format!("\"{name}\""))
        })
}

/// Installs the production dependencies a project's lock file names, as
/// `npm ci --omit=dev` would into a deployment package, in a copy of its
/// `package.json` and `package-lock.json` under `staging` (the project's
/// folder is left as it is); returns the `node_modules` folder. Install
/// scripts are not run: a package that needs them (a native addon) has
/// nothing that could run in the sandbox, and the bundling names it.
fn install_locked_dependencies(dir: &Path, staging: &Path) -> Result<PathBuf> {
    check_packages_are_fetched(dir)?;
    let project = staging.join("npm");
    std::fs::create_dir_all(&project)?;
    for name in ["package.json", "package-lock.json"] {
        std::fs::copy(dir.join(name), project.join(name))
            .with_context(|| format!("failed to copy {name}"))?;
    }
    let output = Command::new("npm")
        .args([
            "ci",
            "--omit=dev",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--silent",
        ])
        .current_dir(&project)
        .stdin(Stdio::null())
        .output()
        .context("failed to run npm (is Node.js installed?)")?;
    if !output.status.success() {
        bail!(
            "`npm ci` of {} failed:\n{}",
            dir.join("package-lock.json").display(),
            String::from_utf8_lossy(&output.stderr).trim_end()
        );
    }
    Ok(project.join("node_modules"))
}

/// The AWS SDK packages (`@aws-sdk/<name>`) the function's code names in a
/// string: what its `import`s and `require`s may load.
fn aws_sdk_packages(texts: &[String]) -> BTreeSet<String> {
    const SCOPE: &str = "@aws-sdk/";
    let mut names = BTreeSet::new();
    for text in texts {
        for (at, _) in text.match_indices(SCOPE) {
            if !at
                .checked_sub(1)
                .is_some_and(|before| matches!(text.as_bytes()[before], b'\'' | b'"' | b'`'))
            {
                continue;
            }
            let name: String = text[at + SCOPE.len()..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
                .collect();
            if !name.is_empty() {
                names.insert(name);
            }
        }
    }
    names
}

/// Lambda's Node.js runtimes carry the whole AWS SDK v3. The setup installs
/// the clients handlers use most (`lambda-runtime/package.json`); any other
/// `@aws-sdk/` package a handler imports, and that neither its own
/// packages nor its layers provide, is fetched with npm the first time a
/// build needs it: as published before the pinned set's date
/// (`sdkPublishedBefore` there), so it is the release a runtime built with
/// that set would carry, dependencies included. Each is kept in a folder
/// of its own under the user's cache (`aws-sdk-js/<name>`) for later
/// builds; returns the `node_modules` folders to bundle from.
fn fetched_aws_sdk_packages(
    sdk: &Path,
    names: &BTreeSet<String>,
    searched: &[&Path],
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<PathBuf>> {
    let missing: Vec<&String> = names
        .iter()
        .filter(|name| {
            !searched
                .iter()
                .any(|folder| folder.join("@aws-sdk").join(name).is_dir())
        })
        .collect();
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    let pins = sdk.join("lambda-runtime").join("package.json");
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&pins).with_context(|| format!("failed to read {}", pins.display()))?,
    )
    .with_context(|| format!("{} is not JSON", pins.display()))?;
    let before = manifest["sdkPublishedBefore"]
        .as_str()
        .with_context(|| format!("{} has no sdkPublishedBefore", pins.display()))?;
    let cache = wasm_lambda_core::default_cache_dir().join("aws-sdk-js");
    let mut folders = Vec::new();
    for name in missing {
        let folder = cache.join(name);
        let modules = folder.join("node_modules");
        if !modules.join("@aws-sdk").join(name).is_dir() {
            progress(&format!(
                "fetching @aws-sdk/{name}, which Lambda's Node.js runtimes provide (npm install)"
            ));
            install_aws_sdk_package(&cache, name, before)?;
        }
        folders.push(modules);
    }
    Ok(folders)
}

/// Installs `@aws-sdk/<name>` into `cache/<name>`: into a folder of its own
/// first, renamed into place when complete, so builds running at once
/// never see half an install (the first rename wins; the others keep it).
fn install_aws_sdk_package(cache: &Path, name: &str, before: &str) -> Result<()> {
    std::fs::create_dir_all(cache)
        .with_context(|| format!("failed to create {}", cache.display()))?;
    let partial = tempfile::Builder::new()
        .prefix(&format!(".{name}-"))
        .tempdir_in(cache)?;
    std::fs::write(
        partial.path().join("package.json"),
        "{\"private\": true, \"description\": \"written by wasm-lambda build\"}\n",
    )?;
    let output = Command::new("npm")
        .args([
            "install",
            "--omit=dev",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--silent",
            "--save-exact",
        ])
        .arg(format!("--before={before}"))
        .arg(format!("@aws-sdk/{name}"))
        .current_dir(partial.path())
        .stdin(Stdio::null())
        .output()
        .context("failed to run npm (is Node.js installed?)")?;
    if !output.status.success() {
        bail!(
            "the handler imports @aws-sdk/{name}, which is not one of the AWS SDK packages \
             Lambda's Node.js runtimes provide that could be fetched (npm install \
             @aws-sdk/{name} --before={before} failed):\n{}",
            String::from_utf8_lossy(&output.stderr).trim_end()
        );
    }
    let folder = cache.join(name);
    // A rename that fails because another build's install came first
    // leaves this one to be removed with `partial`.
    match std::fs::rename(partial.path(), &folder) {
        Err(error) if !folder.join("node_modules").is_dir() => Err(error)
            .with_context(|| format!("failed to move the install to {}", folder.display())),
        _ => Ok(()),
    }
}

/// Refuses a project whose dependencies are folders or files of the
/// building machine (`file:`, `link:` or a path in `package.json`, a
/// linked or `file:` entry in `package-lock.json`): npm would copy or link
/// them into the package, and a build reads nothing outside the function's
/// folder. Packages come from the registry (or a URL) only.
fn check_packages_are_fetched(dir: &Path) -> Result<()> {
    fn is_local(spec: &str) -> bool {
        let spec = spec.trim();
        spec.starts_with("file:")
            || spec.starts_with("link:")
            || spec.starts_with('/')
            || spec.starts_with("./")
            || spec.starts_with("../")
            || spec.starts_with("~/")
            || spec == "."
            || spec == ".."
    }
    let read = |name: &str| -> Result<serde_json::Value> {
        let path = dir.join(name);
        let text =
            std::fs::read(&path).with_context(|| format!("failed to read {}", path.display()))?;
        serde_json::from_slice(&text).with_context(|| format!("{} is not JSON", path.display()))
    };
    let manifest = read("package.json")?;
    for group in [
        "dependencies",
        "optionalDependencies",
        "peerDependencies",
        "devDependencies",
    ] {
        let Some(entries) = manifest.get(group).and_then(|value| value.as_object()) else {
            continue;
        };
        for (name, spec) in entries {
            if spec.as_str().is_some_and(is_local) {
                bail!(
                    "package.json names {name} as {spec}, a folder or file of the building \
                     machine: dependencies are installed from the registry only"
                );
            }
        }
    }
    let lock = read("package-lock.json")?;
    for (path, entry) in lock
        .get("packages")
        .and_then(|value| value.as_object())
        .into_iter()
        .flatten()
    {
        let linked = entry.get("link").and_then(|value| value.as_bool()) == Some(true);
        let resolved = entry.get("resolved").and_then(|value| value.as_str());
        if linked || resolved.is_some_and(is_local) {
            bail!(
                "package-lock.json installs {path:?} from {}, a folder or file of the building \
                 machine: dependencies are installed from the registry only",
                resolved.unwrap_or("a link")
            );
        }
    }
    Ok(())
}

/// Runs one of the SDK's Node.js scripts with `args`, from the SDK's folder
/// (where its locked packages are).
fn run_sdk_script(
    sdk: &Path,
    script: &str,
    args: &[&Path],
    envs: &[(&str, &str)],
) -> Result<std::process::Output> {
    Command::new("node")
        .arg(sdk.join(script))
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(sdk)
        .stdin(Stdio::null())
        .output()
        .context("failed to run node (is Node.js installed?)")
}

/// The largest file, and the most in all, embedded for `fs` during
/// initialisation (module-level code runs at build time, where no file can
/// be opened; at run time every file is read from /var/task).
const EMBEDDED_FILE_BYTES: u64 = 256 * 1024;
const EMBEDDED_TOTAL_BYTES: u64 = 2 * 1024 * 1024;

/// The module `guest-sdk/js/node-fs.mjs` imports as `__wasm_lambda_files`:
/// the function's files that are not code (configuration, templates, data),
/// smallest first up to [`EMBEDDED_TOTAL_BYTES`], as `path -> base64`.
fn embedded_files(dir: &Path) -> Result<String> {
    use base64::Engine as _;
    let mut candidates = Vec::new();
    for relative in wasm_lambda_core::files::list(dir, &unpacked)? {
        let name = relative.to_string_lossy().replace('\\', "/");
        let code = [".js", ".mjs", ".cjs", ".ts", ".mts", ".cts"]
            .iter()
            .any(|ext| name.ends_with(ext));
        let size = std::fs::metadata(dir.join(&relative))?.len();
        if !code && name != "package-lock.json" && size <= EMBEDDED_FILE_BYTES {
            candidates.push((size, name));
        }
    }
    candidates.sort();
    let mut table = serde_json::Map::new();
    let mut total = 0;
    for (size, name) in candidates {
        if total + size > EMBEDDED_TOTAL_BYTES {
            break;
        }
        total += size;
        let bytes = std::fs::read(dir.join(&name))?;
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        table.insert(name, serde_json::Value::String(encoded));
    }
    Ok(format!(
        "// Written by `wasm-lambda build`.\nexport default {};\n",
        serde_json::Value::Object(table)
    ))
}

/// Whether a path of the project stays out of the packed files.
fn unpacked(relative: &Path) -> bool {
    relative
        .components()
        .next()
        .is_some_and(|first| SKIPPED_DIRS.iter().any(|dir| first.as_os_str() == *dir))
}

/// Finds the handler's module file for `module` (the part before the last
/// dot of the handler setting), as Lambda's Node.js runtime looks for it
/// (`.mjs`, `.js`, `.cjs`); returns it and whether it is CommonJS. A Node.js
/// TypeScript project's module (`.ts`, `.mts`, `.cts`) is found where the
/// JavaScript would be after compiling, and esbuild's TypeScript loader
/// compiles it as SAM's esbuild build does.
fn module_file(dir: &Path, module: &str) -> Result<(PathBuf, bool)> {
    let mjs = dir.join(format!("{module}.mjs"));
    if mjs.is_file() {
        return Ok((mjs, false));
    }
    let js = dir.join(format!("{module}.js"));
    if js.is_file() {
        let package = std::fs::read_to_string(dir.join("package.json")).unwrap_or_default();
        let is_module = serde_json::from_str::<serde_json::Value>(&package)
            .ok()
            .is_some_and(|package| package["type"] == "module");
        return Ok((js, !is_module));
    }
    let cjs = dir.join(format!("{module}.cjs"));
    if cjs.is_file() {
        return Ok((cjs, true));
    }
    // TypeScript's `export` is an ES module's; `.cts` is CommonJS.
    for (extension, commonjs) in [("ts", false), ("mts", false), ("cts", true)] {
        let typescript = dir.join(format!("{module}.{extension}"));
        if typescript.is_file() {
            return Ok((typescript, commonjs));
        }
    }
    bail!(
        "Runtime.ImportModuleError: Error: Cannot find module '{module}': no {module}.mjs, {module}.js or {module}.cjs in {}",
        dir.display()
    )
}

/// Builds the handler in `dir` for `runtime` (one of [`RUNTIMES`]);
/// returns the component's bytes.
fn build(
    dir: &Path,
    handler: &str,
    runtime: &str,
    layers: &[PathBuf],
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<u8>> {
    let major = node_major(runtime)?;
    let Some((module, _export)) = handler.rsplit_once('.') else {
        bail!("the handler must be `file.export`, got {handler:?}");
    };
    let (module_path, commonjs) = module_file(dir, module)?;
    let sdk = sdk_dir().context(
        "the JavaScript SDK is not installed: run scripts/setup.sh (it runs `npm ci` in \
         guest-sdk/js), or set WASM_LAMBDA_JS_SDK to a folder with it",
    )?;

    let staging = staging_dir("js")?;
    let code = staging.path().join("code");
    let wit = staging.path().join("wit");
    std::fs::create_dir_all(&code)?;
    std::fs::create_dir_all(&wit)?;
    progress("collecting the function's code");
    copy_sources(dir, &code, SKIPPED_DIRS, &|name| {
        [".js", ".mjs", ".cjs", ".json", ".ts", ".mts", ".cts"]
            .iter()
            .any(|ext| name.ends_with(ext))
    })?;
    // Read before the runtime joins the code: only the function's own code counts.
    let texts = code_texts(&code)?;
    let needs_builtins = texts.iter().any(|text| uses_node_builtins(text));
    let needs_aws_sdk = texts.iter().any(|text| text.contains("@aws-sdk/"));
    let needs_intl = texts
        .iter()
        .any(|text| text.contains("Intl.") || text.contains(".toLocale"));
    let names_fs_streams = texts
        .iter()
        .any(|text| text.contains("createReadStream") || text.contains("createWriteStream"));
    std::fs::write(code.join("__wasm_lambda_runtime.mjs"), RUNTIME_MODULE)?;

    let relative = module_path
        .strip_prefix(dir)
        .unwrap_or(&module_path)
        .to_string_lossy()
        .replace('\\', "/");
    let code_root = code.to_string_lossy().into_owned();
    let mut node_modules = std::path::absolute(dir.join("node_modules"))?;
    if !node_modules.is_dir() && dir.join("package-lock.json").is_file() {
        progress("installing the dependencies of package-lock.json (npm ci)");
        node_modules = install_locked_dependencies(dir, staging.path())?;
    }
    // Lambda's Node.js runtimes provide the AWS SDK v3; the pinned clients
    // are found after the project's own packages, so its own version wins.
    let aws_sdk = sdk.join("lambda-runtime").join("node_modules");
    if needs_aws_sdk && !aws_sdk.join("@aws-sdk").is_dir() {
        bail!(
            "the handler imports the AWS SDK, which Lambda's runtime provides, but the pinned \
             copy is missing: run scripts/setup.sh (it runs `npm ci` in guest-sdk/js/lambda-runtime)"
        );
    }
    // Layers' packages, where Lambda's Node.js finds them under /opt.
    let mut layer_paths = Vec::new();
    for layer in layers {
        let found: Vec<PathBuf> = [
            layer
                .join("nodejs")
                .join(format!("node{major}"))
                .join("node_modules"),
            layer.join("nodejs").join("node_modules"),
        ]
        .into_iter()
        .filter(|path| path.is_dir())
        .collect();
        if found.is_empty() {
            bail!(
                "the layer {} has no nodejs/node_modules folder (Lambda's Node.js finds a layer's \
                 packages in nodejs/node_modules/ and nodejs/node{major}/node_modules/)",
                layer.display()
            );
        }
        for path in found {
            layer_paths.push(std::path::absolute(path)?);
        }
    }
    // The AWS SDK packages the pinned set lacks, fetched once.
    let fetched = if needs_aws_sdk {
        let mut searched: Vec<&Path> = vec![&node_modules];
        searched.extend(layer_paths.iter().map(PathBuf::as_path));
        searched.push(&aws_sdk);
        fetched_aws_sdk_packages(&sdk, &aws_sdk_packages(&texts), &searched, progress)?
    } else {
        Vec::new()
    };
    // Every handler is bundled, so that its module (and what it imports)
    // is evaluated by the init phase rather than at build time: its
    // top-level code then sees the function's environment.
    progress("bundling the handler with esbuild");
    let bundled = code.join("__wasm_lambda_handler.mjs");
    let entry_file = code.join(&relative);
    // The handler, the bundle, the code, then where packages are looked
    // for, in order: the project's, the layers', the AWS SDK.
    let mut args: Vec<&Path> = vec![&entry_file, &bundled, &code, &node_modules];
    args.extend(layer_paths.iter().map(PathBuf::as_path));
    args.push(&aws_sdk);
    args.extend(fetched.iter().map(PathBuf::as_path));
    let files_table = staging.path().join("__wasm_lambda_files.mjs");
    std::fs::write(&files_table, embedded_files(dir)?)?;
    let files_table = files_table.to_string_lossy().into_owned();
    let mut envs = vec![("WASM_LAMBDA_FILES", files_table.as_str())];
    // Node's globals (`Buffer`) go into code that may use them: the
    // function's when it names them, and packages'. A plain ES module
    // handler does without (the port is about 1,800 lines to evaluate).
    if commonjs
        || node_modules.is_dir()
        || needs_builtins
        || needs_aws_sdk
        || needs_intl
        || !layer_paths.is_empty()
    {
        envs.push(("WASM_LAMBDA_NODE_GLOBALS", "1"));
    }
    // The engine has no Intl: the polyfills go only into handlers that
    // use it, as they add about 19 MB to the component.
    if needs_intl {
        envs.push(("WASM_LAMBDA_INTL", "1"));
    }
    // `fs`'s streams bring the `stream` port (about 1.9 MB more component,
    // 14% for a handler that only reads files, to compile and keep): they
    // go into functions whose code names them and those with packages,
    // which may.
    if names_fs_streams || node_modules.is_dir() || !layer_paths.is_empty() {
        envs.push(("WASM_LAMBDA_FS_STREAMS", "1"));
    }
    let result = run_sdk_script(&sdk, "bundle.mjs", &args, &envs)?;
    if !result.status.success() {
        let stderr = String::from_utf8_lossy(&result.stderr);
        bail!(
            "bundling {} failed:\n{}",
            module_path.display(),
            stderr.trim_end()
        );
    }
    // Only a bundle with the SDK's `fs` in it (the handler's or a
    // package's) imports WASI's filesystem: the others keep the plain
    // world, whose instances start about 75 µs sooner.
    let uses_fs = std::fs::read_to_string(&bundled)?.contains(FS_IMPORT);
    // The runtime is imported first so `process` exists when the handler's
    // module runs its top-level code (in `init`, or at the first call when
    // the host did not run `init`).
    let entry = format!(
        "// Written by `wasm-lambda build`.\n\
         globalThis.__wasmLambdaNodeMajor = {major};\n\
         import {{ initPhase, invokeHandler }} from './__wasm_lambda_runtime.mjs';\n\
         import {{ load }} from './__wasm_lambda_handler.mjs';\n\
         export function init() {{\n  \
           return initPhase(load, {commonjs});\n\
         }}\n\
         export function handle(event, context) {{\n  \
           return invokeHandler(load, {commonjs}, {handler}, {root}, event, context);\n\
         }}\n",
        handler = serde_json::to_string(handler)?,
        root = serde_json::to_string(&code_root)?,
    );
    let entry_path = code.join("__wasm_lambda_entry.mjs");
    std::fs::write(&entry_path, entry)?;

    progress("running componentize-js");
    let output = staging.path().join("component.wasm");
    let world = if uses_fs {
        write_files(&wit, FS_WIT)?;
        Path::new("js-handler")
    } else {
        std::fs::write(wit.join("handler.wit"), super::HANDLER_WIT)?;
        Path::new("handler-with-init")
    };
    let result = run_sdk_script(&sdk, "build.mjs", &[&entry_path, &wit, &output, world], &[])?;
    if !result.status.success() {
        let stderr = String::from_utf8_lossy(&result.stderr).replace(&code_root, "/var/task");
        bail!("componentize-js failed:\n{}", stderr.trim_end());
    }
    let component =
        std::fs::read(&output).with_context(|| format!("failed to read {}", output.display()))?;
    if !uses_fs {
        return Ok(component);
    }
    // The function's own files at /var/task, for `fs` (data, templates,
    // configuration read at run time), as Lambda unpacks the zip there.
    progress("packing the function's files");
    let folder = wasm_lambda_core::files::Folder {
        source: dir.to_path_buf(),
        guest_paths: vec!["/var/task".to_string()],
    };
    let archive = wasm_lambda_core::files::pack(&[folder], &unpacked)?;
    Ok(wasm_lambda_core::files::append(&component, &archive))
}

/// JavaScript's row of the toolchain table.
pub(super) struct JavaScript;

/// The JavaScript SDK's folder (`guest-sdk/js` with componentize-js
/// installed, or `$WASM_LAMBDA_JS_SDK`).
fn sdk_dir() -> Option<PathBuf> {
    find_checkout_dir(
        "guest-sdk/js",
        "node_modules/@bytecodealliance/componentize-js/package.json",
        "WASM_LAMBDA_JS_SDK",
    )
}

impl Toolchain for JavaScript {
    fn language(&self) -> Language {
        Language::JavaScript
    }

    fn default_runtime(&self) -> &'static str {
        RUNTIME
    }

    fn cache_inputs(&self) -> Option<crate::build_cache::ToolchainInputs> {
        // The SDK's folder (its build scripts, the AWS SDK clients it
        // provides, and by npm's record componentize-js), and Node itself.
        let paths = sdk_dir()
            .into_iter()
            .chain(crate::tools::on_path("node"))
            .collect();
        Some(crate::build_cache::ToolchainInputs {
            paths,
            variables: &["WASM_LAMBDA_JS_SDK"],
        })
    }

    fn runtimes(&self) -> &'static [&'static str] {
        RUNTIMES
    }

    fn default_handler(&self) -> &'static str {
        DEFAULT_HANDLER
    }

    fn takes_layers(&self) -> bool {
        true
    }

    fn build(&self, job: &Job<'_>, progress: &mut dyn FnMut(&str)) -> Result<Made> {
        let bytes = build(job.dir, &job.handler, job.runtime, job.layers, progress)?;
        Ok(Made::Component {
            bytes,
            name: None,
            warnings: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_sdk_packages_are_the_quoted_names_only() {
        let texts = vec![
            "import { S3Client } from '@aws-sdk/client-s3';\n\
             const { marshall } = require(\"@aws-sdk/util-dynamodb\");\n\
             const lib = await import(`@aws-sdk/lib-storage/dist-es/index.js`);\n\
             // see https://example.com/@aws-sdk/not-an-import\n"
                .to_string(),
            "import x from '@aws-sdk/client-s3'; import '@smithy/node-http-handler';".to_string(),
        ];
        let names: Vec<String> = aws_sdk_packages(&texts).into_iter().collect();
        assert_eq!(names, ["client-s3", "lib-storage", "util-dynamodb"]);
    }
}
