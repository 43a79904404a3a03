//! Rust handlers written for AWS's `lambda_runtime` crate (as `cargo lambda
//! new` makes them: a binary whose `#[tokio::main]` calls
//! `lambda_runtime::run(service_fn(handler))`), built unchanged.
//!
//! The project is staged: its `lambda_runtime` dependency becomes the SDK's
//! crate of that name (`guest-sdk/rust/lambda_runtime`, the same public
//! API), its `src/main.rs` becomes a `cdylib` library, and a line appended
//! to it exports `main` as the handler (the SDK's crate documents how an
//! invocation runs). WASI has no threads, so a `#[tokio::main]` on the
//! multi-thread runtime runs on the current-thread one, with a warning that
//! names the line. A project using `lambda_http` (API Gateway, ALB and
//! function URL handlers) builds with the published crate, which runs on the
//! SDK's `lambda_runtime` unchanged.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use toml::{Table, Value};

use super::tools::{copy_sources, staging_dir, write_files};

/// The SDK's sources the staged project builds against, compiled into the
/// binary so a build needs no checkout.
const SDK_FILES: &[(&str, &str)] = &[
    (
        "rust/Cargo.toml",
        include_str!("../../../guest-sdk/rust/Cargo.toml"),
    ),
    (
        "rust/src/lib.rs",
        include_str!("../../../guest-sdk/rust/src/lib.rs"),
    ),
    (
        "wit/handler.wit",
        include_str!("../../../guest-sdk/wit/handler.wit"),
    ),
    (
        "rust/lambda_runtime/Cargo.toml",
        include_str!("../../../guest-sdk/rust/lambda_runtime/Cargo.toml"),
    ),
    (
        "rust/lambda_runtime/src/lib.rs",
        include_str!("../../../guest-sdk/rust/lambda_runtime/src/lib.rs"),
    ),
    (
        "rust/lambda_runtime/src/deserializer.rs",
        include_str!("../../../guest-sdk/rust/lambda_runtime/src/deserializer.rs"),
    ),
    (
        "rust/lambda_runtime/src/diagnostic.rs",
        include_str!("../../../guest-sdk/rust/lambda_runtime/src/diagnostic.rs"),
    ),
    (
        "rust/lambda_runtime/src/streaming.rs",
        include_str!("../../../guest-sdk/rust/lambda_runtime/src/streaming.rs"),
    ),
];

/// A staged project: where its Cargo.toml is, and what the build says
/// about the changes it made.
pub(super) struct Staged {
    /// Keeps the staging folder alive.
    _folder: tempfile::TempDir,
    pub(super) dir: PathBuf,
    pub(super) warnings: Vec<String>,
}

/// Stages the project in `dir` when it depends on `lambda_runtime`; `None`
/// for a project of the SDK's own (`wasm_lambda_sdk::handler!`).
pub(super) fn stage(dir: &Path) -> Result<Option<Staged>> {
    let manifest_path = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("failed to read {}", manifest_path.display()))?;
    let mut manifest: Table = toml::from_str(&text)
        .with_context(|| format!("failed to parse {}", manifest_path.display()))?;
    // The staged copy is outside the project's workspace and folder: what
    // it inherits from the workspace is written out, and relative paths
    // point back at the sources.
    let dir = &std::path::absolute(dir)?;
    let workspace = match manifest.get("workspace") {
        Some(Value::Table(own)) => Some((dir.clone(), own.clone())),
        _ => workspace_of(dir),
    };
    standalone(&mut manifest, dir, workspace.as_ref())?;
    let dependencies = manifest.get("dependencies");
    let depends_on = |name: &str| dependencies.and_then(|table| table.get(name)).cloned();
    // lambda_http runs on lambda_runtime: either makes a handler of `main`.
    let requirement = match (depends_on("lambda_runtime"), depends_on("lambda_http")) {
        (Some(requirement), _) => requirement,
        (None, Some(_)) => Value::Table(Table::new()),
        (None, None) => return Ok(None),
    };
    let main = main_path(&manifest);
    if !dir.join(&main).is_file() {
        bail!(
            "the project depends on lambda_runtime, but has no {main}: the build makes the \
             handler of its binary's main"
        );
    }

    let folder = staging_dir("rust")?;
    let sdk = folder.path().join("sdk");
    let function = folder.path().join("function");
    write_files(&sdk, SDK_FILES)?;
    std::fs::create_dir_all(&function)?;
    copy_sources(dir, &function, &["target", "build"], &|_| true)?;

    let mut warnings = Vec::new();
    if let Some(warning) = raise_lambda_http(&mut manifest) {
        warnings.push(warning);
    }
    let staged = staged_manifest(manifest, requirement, &main, &sdk)?;
    std::fs::write(function.join("Cargo.toml"), toml::to_string(&staged)?)?;
    let source = std::fs::read_to_string(function.join(&main))?;
    let (source, main_warnings) = staged_main(&source, &main);
    warnings.extend(main_warnings);
    std::fs::write(function.join(&main), source)?;
    Ok(Some(Staged {
        _folder: folder,
        dir: function,
        warnings,
    }))
}

/// The workspace a package in `dir` belongs to: the nearest folder above
/// it whose Cargo.toml has a `[workspace]` table, and that table.
/// A manifest that cannot be read is passed over: it only matters if the
/// package inherits from it, and then the error names what is missing.
fn workspace_of(dir: &Path) -> Option<(PathBuf, Table)> {
    dir.ancestors().skip(1).find_map(|folder| {
        let text = std::fs::read_to_string(folder.join("Cargo.toml")).ok()?;
        let mut manifest: Table = toml::from_str(&text).ok()?;
        match manifest.remove("workspace")? {
            Value::Table(workspace) => Some((folder.to_path_buf(), workspace)),
            _ => None,
        }
    })
}

/// Makes the manifest of the package in `dir` build on its own: each
/// `workspace = true` key takes the workspace's value (a dependency's
/// features added to the workspace's), and relative dependency paths
/// become absolute.
fn standalone(
    manifest: &mut Table,
    dir: &Path,
    workspace: Option<&(PathBuf, Table)>,
) -> Result<()> {
    let inherits = |value: &Value| value.get("workspace").and_then(Value::as_bool) == Some(true);
    let need_workspace = |what: &str| {
        workspace
            .map(|(root, table)| (root, table))
            .with_context(|| {
                format!(
                    "Cargo.toml: {what} is inherited from a workspace (`workspace = true`), \
                 but no Cargo.toml above the project has a [workspace]"
                )
            })
    };
    if let Some(Value::Table(package)) = manifest.get_mut("package") {
        for (key, value) in package.iter_mut() {
            if inherits(value) {
                let (_, table) = need_workspace(&format!("package.{key}"))?;
                *value = table
                    .get("package")
                    .and_then(|package| package.get(key))
                    .cloned()
                    .with_context(|| {
                        format!(
                            "Cargo.toml: package.{key} is inherited, but the workspace has no \
                             [workspace.package] {key}"
                        )
                    })?;
            }
        }
    }
    if manifest.get("lints").is_some_and(inherits) {
        let (_, table) = need_workspace("lints")?;
        match table.get("lints") {
            Some(lints) => manifest.insert("lints".into(), lints.clone()),
            None => manifest.remove("lints"),
        };
    }
    let mut tables: Vec<&mut Table> = Vec::new();
    let (plain, targets): (Vec<_>, Vec<_>) = manifest
        .iter_mut()
        .partition(|(key, _)| key.as_str() != "target");
    for (key, value) in plain {
        if key.ends_with("dependencies")
            && let Value::Table(table) = value
        {
            tables.push(table);
        }
    }
    for (_, value) in targets {
        for (_, target) in value.as_table_mut().into_iter().flatten() {
            for (key, value) in target.as_table_mut().into_iter().flatten() {
                if key.ends_with("dependencies")
                    && let Value::Table(table) = value
                {
                    tables.push(table);
                }
            }
        }
    }
    for table in tables {
        for (name, dependency) in table.iter_mut() {
            if inherits(dependency) {
                let (root, workspace) = need_workspace(&format!("dependency {name}"))?;
                let mut inherited = match workspace
                    .get("dependencies")
                    .and_then(|dependencies| dependencies.get(name))
                {
                    Some(Value::String(version)) => {
                        Table::from_iter([("version".to_string(), Value::String(version.clone()))])
                    }
                    Some(Value::Table(table)) => table.clone(),
                    _ => bail!(
                        "Cargo.toml: dependency {name} is inherited, but the workspace's \
                         [workspace.dependencies] has no {name}"
                    ),
                };
                absolute_path(&mut inherited, root);
                let own = dependency.as_table().cloned().unwrap_or_default();
                if let Some(Value::Array(features)) = own.get("features") {
                    let all = inherited
                        .entry("features")
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(all) = all {
                        let added: Vec<Value> = features
                            .iter()
                            .filter(|feature| !all.contains(feature))
                            .cloned()
                            .collect();
                        all.extend(added);
                    }
                }
                if let Some(optional) = own.get("optional") {
                    inherited.insert("optional".into(), optional.clone());
                }
                *dependency = Value::Table(inherited);
            } else if let Value::Table(own) = dependency {
                absolute_path(own, dir);
            }
        }
    }
    Ok(())
}

/// A dependency's relative `path`, made absolute from `base`.
fn absolute_path(dependency: &mut Table, base: &Path) {
    if let Some(Value::String(path)) = dependency.get_mut("path")
        && Path::new(path.as_str()).is_relative()
    {
        *path = base.join(path.as_str()).display().to_string();
    }
}

/// The first lambda_http release that runs on lambda_runtime 0.14, the API
/// the SDK's crate keeps; earlier ones need lambda_runtime 0.13.
const LAMBDA_HTTP_ON_0_14: u64 = 15;

/// The release a project asking for an earlier lambda_http builds with.
const LAMBDA_HTTP_USED: &str = "0.17";

/// Moves a `lambda_http` requirement older than 0.15 to 0.17 (whose
/// handler API is the same), since those releases need lambda_runtime 0.13;
/// says so, naming the requirement.
fn raise_lambda_http(manifest: &mut Table) -> Option<String> {
    let dependency = manifest
        .get_mut("dependencies")
        .and_then(Value::as_table_mut)?
        .get_mut("lambda_http")?;
    let version = match &*dependency {
        Value::String(version) => version.clone(),
        Value::Table(table) => table.get("version")?.as_str()?.to_string(),
        _ => return None,
    };
    let minor: u64 = version
        .trim_start_matches(['^', '=', '~', ' '])
        .strip_prefix("0.")?
        .split('.')
        .next()?
        .parse()
        .ok()?;
    if minor >= LAMBDA_HTTP_ON_0_14 {
        return None;
    }
    match dependency {
        Value::Table(table) => {
            table.insert("version".into(), Value::String(LAMBDA_HTTP_USED.into()));
        }
        other => *other = Value::String(LAMBDA_HTTP_USED.into()),
    }
    Some(format!(
        "Cargo.toml: lambda_http \"{version}\" runs on lambda_runtime 0.13, which the build \
         does not provide; it built with lambda_http {LAMBDA_HTTP_USED}, whose handler API is \
         the same. Require \"{LAMBDA_HTTP_USED}\" to build without this warning."
    ))
}

/// The binary's source: its `[[bin]]` path, else `src/main.rs`.
fn main_path(manifest: &Table) -> String {
    manifest
        .get("bin")
        .and_then(Value::as_array)
        .and_then(|bins| bins.first())
        .and_then(|bin| bin.get("path"))
        .and_then(Value::as_str)
        .unwrap_or("src/main.rs")
        .to_string()
}

/// The manifest built: the binary as a `cdylib` library, `lambda_runtime`
/// (with the features asked for) from the SDK, and a workspace of its own.
fn staged_manifest(
    mut manifest: Table,
    requirement: Value,
    main: &str,
    sdk: &Path,
) -> Result<Table> {
    let package_name = manifest
        .get("package")
        .and_then(|package| package.get("name"))
        .and_then(Value::as_str)
        .context("Cargo.toml has no [package] name")?
        .to_string();
    let runtime_path = sdk.join("rust/lambda_runtime").display().to_string();
    let mut replacement = Table::new();
    replacement.insert("path".into(), Value::String(runtime_path.clone()));
    if let Value::Table(asked) = &requirement {
        for key in [
            "features",
            "default-features",
            "default_features",
            "optional",
        ] {
            if let Some(value) = asked.get(key) {
                replacement.insert(key.into(), value.clone());
            }
        }
    }
    // Also for a project that names only lambda_http: the line appended to
    // main.rs reaches the export through it.
    if let Some(Value::Table(dependencies)) = manifest.get_mut("dependencies") {
        dependencies.insert("lambda_runtime".into(), Value::Table(replacement));
    }
    manifest.remove("bin");
    // Only the library: src/main.rs would otherwise be a binary as well.
    if let Some(Value::Table(package)) = manifest.get_mut("package") {
        for key in ["autobins", "autoexamples", "autotests", "autobenches"] {
            package.insert(key.into(), Value::Boolean(false));
        }
    }
    let mut lib = Table::new();
    lib.insert("name".into(), Value::String(package_name.replace('-', "_")));
    lib.insert("path".into(), Value::String(main.to_string()));
    lib.insert(
        "crate-type".into(),
        Value::Array(vec![Value::String("cdylib".into())]),
    );
    manifest.insert("lib".into(), Value::Table(lib));
    manifest.insert("workspace".into(), Value::Table(Table::new()));
    // Crates built on lambda_runtime (lambda_http) get the SDK's too.
    let mut patch = Table::new();
    let mut crates_io = Table::new();
    let mut patched = Table::new();
    patched.insert("path".into(), Value::String(runtime_path));
    crates_io.insert("lambda_runtime".into(), Value::Table(patched));
    patch.insert("crates-io".into(), Value::Table(crates_io));
    manifest.insert("patch".into(), Value::Table(patch));
    Ok(manifest)
}

/// The binary's source with `main` exported as the handler, and a
/// multi-thread `#[tokio::main]` made current-thread; a warning per change
/// of the user's code, naming its line.
fn staged_main(source: &str, main: &str) -> (String, Vec<String>) {
    let mut warnings = Vec::new();
    let mut staged = String::with_capacity(source.len() + 64);
    for (index, line) in source.lines().enumerate() {
        let trimmed = line.trim();
        let multi_thread = trimmed == "#[tokio::main]"
            || (trimmed.starts_with("#[tokio::main(") && trimmed.contains("multi_thread"));
        if multi_thread {
            let indent = &line[..line.len() - line.trim_start().len()];
            staged.push_str(indent);
            staged.push_str("#[tokio::main(flavor = \"current_thread\")]\n");
            warnings.push(format!(
                "{main}:{}: `{trimmed}` starts tokio's multi-thread runtime, which needs \
                 threads that WASI does not have; the build ran it as \
                 `#[tokio::main(flavor = \"current_thread\")]`. Write that there to build \
                 without this warning.",
                index + 1
            ));
        } else {
            staged.push_str(line);
            staged.push('\n');
        }
    }
    staged.push_str("\n::lambda_runtime::__export_main!(main);\n");
    (staged, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binary_becomes_a_library_on_the_sdks_lambda_runtime() {
        let manifest: Table = toml::from_str(
            "[package]\nname = \"my-fn\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [dependencies]\nlambda_runtime = { version = \"0.13\", features = [\"anyhow\"] }\n\
             tokio = { version = \"1\", features = [\"macros\"] }\n\n\
             [[bin]]\nname = \"bootstrap\"\npath = \"src/bin/handler.rs\"\n",
        )
        .unwrap();
        let main = main_path(&manifest);
        assert_eq!(main, "src/bin/handler.rs");
        let requirement = manifest["dependencies"]["lambda_runtime"].clone();
        let staged = staged_manifest(manifest, requirement, &main, Path::new("/s/sdk")).unwrap();
        let runtime = &staged["dependencies"]["lambda_runtime"];
        assert_eq!(runtime["path"].as_str(), Some("/s/sdk/rust/lambda_runtime"));
        assert_eq!(
            runtime["features"],
            Value::Array(vec![Value::String("anyhow".into())])
        );
        assert!(runtime.get("version").is_none());
        assert_eq!(staged["lib"]["name"].as_str(), Some("my_fn"));
        assert_eq!(staged["lib"]["path"].as_str(), Some("src/bin/handler.rs"));
        assert!(staged.get("bin").is_none());
        assert_eq!(staged["package"]["autobins"].as_bool(), Some(false));
        assert_eq!(
            staged["patch"]["crates-io"]["lambda_runtime"]["path"].as_str(),
            Some("/s/sdk/rust/lambda_runtime")
        );
    }

    #[test]
    fn a_workspace_member_inherits_its_keys_and_paths_point_at_the_sources() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(
            root.path().join("Cargo.toml"),
            "[workspace]\nmembers = [\"functions/*\", \"shared\"]\n\n\
             [workspace.package]\nedition = \"2021\"\nversion = \"1.2.0\"\n\n\
             [workspace.dependencies]\nlambda_runtime = \"0.14\"\n\
             serde = { version = \"1\", features = [\"derive\"] }\n\
             shared = { path = \"shared\" }\n",
        )
        .unwrap();
        let member = root.path().join("functions/quote");
        std::fs::create_dir_all(&member).unwrap();
        let mut manifest: Table = toml::from_str(
            "[package]\nname = \"quote\"\nversion.workspace = true\nedition.workspace = true\n\n\
             [dependencies]\nlambda_runtime = { workspace = true, features = [\"anyhow\"] }\n\
             serde = { workspace = true, features = [\"rc\", \"derive\"], optional = true }\n\
             shared.workspace = true\nlocal = { path = \"../local\" }\n\n\
             [target.'cfg(unix)'.dev-dependencies]\nserde.workspace = true\n",
        )
        .unwrap();
        let workspace = workspace_of(&member).unwrap();
        assert_eq!(workspace.0, root.path());
        standalone(&mut manifest, &member, Some(&workspace)).unwrap();
        assert_eq!(manifest["package"]["version"].as_str(), Some("1.2.0"));
        assert_eq!(manifest["package"]["edition"].as_str(), Some("2021"));
        let dependencies = &manifest["dependencies"];
        assert_eq!(
            dependencies["lambda_runtime"]["version"].as_str(),
            Some("0.14")
        );
        assert_eq!(
            dependencies["lambda_runtime"]["features"],
            Value::Array(vec![Value::String("anyhow".into())])
        );
        assert_eq!(
            dependencies["serde"]["features"],
            Value::Array(vec![
                Value::String("derive".into()),
                Value::String("rc".into())
            ])
        );
        assert_eq!(dependencies["serde"]["optional"].as_bool(), Some(true));
        assert!(dependencies["serde"].get("workspace").is_none());
        assert_eq!(
            dependencies["shared"]["path"].as_str(),
            Some(root.path().join("shared").to_str().unwrap())
        );
        assert_eq!(
            dependencies["local"]["path"].as_str(),
            Some(member.join("../local").to_str().unwrap())
        );
        assert_eq!(
            manifest["target"]["cfg(unix)"]["dev-dependencies"]["serde"]["version"].as_str(),
            Some("1")
        );

        // Inheriting what the workspace does not have names it.
        let mut orphan: Table =
            toml::from_str("[dependencies]\ntokio = { workspace = true }\n").unwrap();
        let error = standalone(&mut orphan, &member, Some(&workspace)).unwrap_err();
        assert!(error.to_string().contains("has no tokio"), "{error}");
        let error = standalone(&mut orphan, &member, None).unwrap_err();
        assert!(error.to_string().contains("no Cargo.toml above"), "{error}");
    }

    #[test]
    fn an_old_lambda_http_is_raised_to_one_on_lambda_runtime_0_14() {
        let mut manifest: Table = toml::from_str(
            "[dependencies]\nlambda_http = { version = \"0.13\", default-features = false }\n",
        )
        .unwrap();
        let warning = raise_lambda_http(&mut manifest).unwrap();
        assert!(
            warning.starts_with("Cargo.toml: lambda_http \"0.13\" runs on lambda_runtime 0.13")
        );
        assert_eq!(
            manifest["dependencies"]["lambda_http"]["version"].as_str(),
            Some("0.17")
        );
        assert_eq!(
            manifest["dependencies"]["lambda_http"]["default-features"].as_bool(),
            Some(false)
        );
        for kept in ["0.15", "^0.16.1", "0.17"] {
            let mut manifest: Table =
                toml::from_str(&format!("[dependencies]\nlambda_http = \"{kept}\"\n")).unwrap();
            assert!(raise_lambda_http(&mut manifest).is_none(), "{kept}");
            assert_eq!(manifest["dependencies"]["lambda_http"].as_str(), Some(kept));
        }
    }

    #[test]
    fn a_multi_thread_tokio_main_runs_on_the_current_thread_with_a_warning() {
        let source = "use lambda_runtime::Error;\n\n#[tokio::main]\nasync fn main() -> Result<(), Error> {\n    Ok(())\n}\n";
        let (staged, warnings) = staged_main(source, "src/main.rs");
        assert!(staged.contains("#[tokio::main(flavor = \"current_thread\")]\nasync fn main()"));
        assert!(!staged.contains("#[tokio::main]\n"));
        assert!(staged.ends_with("::lambda_runtime::__export_main!(main);\n"));
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].starts_with("src/main.rs:3: `#[tokio::main]` starts"),
            "{warnings:?}"
        );

        let (_, warnings) = staged_main(
            "#[tokio::main(flavor = \"current_thread\")]\nasync fn main() {}\n",
            "src/main.rs",
        );
        assert!(warnings.is_empty());
    }
}
