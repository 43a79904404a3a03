//! Go handlers: the project's `main` package, built by Go for
//! `GOOS=wasip1 GOARCH=wasm` as a reactor (`-buildmode=c-shared`) together
//! with the Go SDK (`wasm-lambda.local/lambda`) and the SDK's own
//! `github.com/aws/aws-lambda-go` (its `lambda`, `lambda/messages`,
//! `lambdacontext` and `events` packages, so a handler written for Lambda's
//! Go runtime builds unchanged), joined through a `go.work`, then wrapped
//! into a component by [`super::core_module`].
//!
//! The build fetches no Go modules: a `go.mod` that requires any other
//! module fails the build, naming it.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use super::tools::{copy_sources, find_tool, run_tool, staging_dir, write_files};

/// The SDK's files, compiled into the binary so a build needs no checkout.
const SDK_FILES: &[(&str, &str)] = &[
    ("go.mod", include_str!("../../../guest-sdk/go/go.mod")),
    ("lambda.go", include_str!("../../../guest-sdk/go/lambda.go")),
    ("abi.go", include_str!("../../../guest-sdk/go/abi.go")),
];

/// The module path of AWS's Go runtime library, which the SDK provides.
const AWS_LAMBDA_GO: &str = "github.com/aws/aws-lambda-go";

/// The SDK's `github.com/aws/aws-lambda-go` (`guest-sdk/go/aws-lambda-go`):
/// every file but the tests, as
/// `tests::every_aws_lambda_go_file_is_compiled_in` checks.
macro_rules! aws_lambda_go_files {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../../guest-sdk/go/aws-lambda-go/", $name)))),*]
    };
}
const AWS_LAMBDA_GO_FILES: &[(&str, &str)] = aws_lambda_go_files![
    "go.mod",
    "events/alb.go",
    "events/apigw.go",
    "events/cloudwatch_events.go",
    "events/cloudwatch_logs.go",
    "events/cognito.go",
    "events/doc.go",
    "events/dynamodb.go",
    "events/dynamodb_attribute.go",
    "events/epoch_time.go",
    "events/function_url.go",
    "events/http_stream.go",
    "events/iam.go",
    "events/kinesis.go",
    "events/s3.go",
    "events/sns.go",
    "events/sqs.go",
    "events/time_window.go",
    "lambda/entry.go",
    "lambda/handler.go",
    "lambda/messages/messages.go",
    "lambdacontext/context.go",
    "lambdacontext/logger.go",
];

/// The linear memory a Go module starts with. Go's linker sizes it to the
/// data alone, and the runtime's start-up then grows it by a 4 MiB heap
/// arena and more; starting with room for them saves those `memory.grow`s
/// (cold start 327 -> 266 µs in one `wasm-lambda bench` run).
const INITIAL_MEMORY_BYTES: u64 = 8 << 20;

/// The Go release the SDK is written for.
const GO_VERSION: &str = "1.27";

/// Compiles the project in `dir`; returns the core module's bytes.
fn build(dir: &Path, progress: &mut dyn FnMut(&str)) -> Result<Vec<u8>> {
    let go = go().context(
        "Go is not installed: run scripts/setup.sh (it installs Go into .venv), or set \
         WASM_LAMBDA_GO",
    )?;
    let staging = staging_dir("go")?;
    let function = staging.path().join("function");
    let sdk = staging.path().join("sdk");
    let aws_lambda_go = staging.path().join("aws-lambda-go");
    std::fs::create_dir_all(&function)?;
    std::fs::create_dir_all(&sdk)?;
    progress("collecting the function's code");
    // go.sum is left behind: the modules the SDK provides are the
    // workspace's own, which Go does not check against it.
    copy_sources(dir, &function, &["build"], &|name| {
        name.ends_with(".go") || name == "go.mod"
    })?;
    match std::fs::read_to_string(function.join("go.mod")) {
        Ok(go_mod) => check_requirements(&go_mod)?,
        Err(_) => std::fs::write(
            function.join("go.mod"),
            format!("module function\n\ngo {GO_VERSION}\n"),
        )?,
    }
    write_files(&sdk, SDK_FILES)?;
    write_files(&aws_lambda_go, AWS_LAMBDA_GO_FILES)?;
    std::fs::write(
        staging.path().join("go.work"),
        format!("go {GO_VERSION}\n\nuse (\n\t./function\n\t./sdk\n\t./aws-lambda-go\n)\n"),
    )?;

    progress("compiling with go");
    let module = staging.path().join("module.wasm");
    let mut command = Command::new(go);
    command
        .current_dir(&function)
        .env("GOOS", "wasip1")
        .env("GOARCH", "wasm")
        // Everything the build needs is local: never reach for a proxy or
        // another toolchain.
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "")
        .args(["build", "-buildmode=c-shared", "-trimpath"])
        // The SDK's allocator reaches runtime.sbrk and main.main (see abi.go).
        .arg("-ldflags=-checklinkname=0 -s")
        .arg("-o")
        .arg(&module)
        .arg(".");
    run_tool(
        &mut command,
        "go build",
        &function,
        dir.to_string_lossy().as_ref(),
    )?;
    let module = std::fs::read(&module)?;
    // Go links only what `main` reaches: without the SDK there is no glue.
    if !super::core_module::exports_function(&module, "handle")? {
        bail!(
            "the Go program never reaches the SDK (the module exports no `handle`): import \
             \"github.com/aws/aws-lambda-go/lambda\" (or \"wasm-lambda.local/lambda\") and \
             call lambda.Start(handler) from main"
        );
    }
    super::core_module::with_initial_memory(&module, INITIAL_MEMORY_BYTES)
}

/// Fails when `go_mod` requires a module the SDK does not provide: the
/// build cannot fetch modules, so Go would fail with less to go on.
fn check_requirements(go_mod: &str) -> Result<()> {
    let provided = [AWS_LAMBDA_GO, "wasm-lambda.local/lambda"];
    let missing: Vec<String> = requirements(go_mod)
        .into_iter()
        .filter(|(module, _, _)| !provided.contains(&module.as_str()))
        .map(|(module, version, line)| format!("{module} {version} (go.mod line {line})"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    bail!(
        "go.mod requires {}, which the build cannot provide: it fetches no Go modules, and \
         gives Go handlers only {AWS_LAMBDA_GO} (lambda, lambdacontext, events) and the \
         standard library. Remove the requirement, or vendor the package's code into the \
         function's own module.",
        missing.join(", ")
    )
}

/// The `require`d modules of a go.mod: (module, version, line number).
fn requirements(go_mod: &str) -> Vec<(String, String, usize)> {
    let mut found = Vec::new();
    let mut in_block = false;
    for (index, line) in go_mod.lines().enumerate() {
        let line = line.split("//").next().unwrap_or("").trim();
        let entry = if in_block {
            if line == ")" {
                in_block = false;
                continue;
            }
            line
        } else if let Some(rest) = line.strip_prefix("require") {
            let rest = rest.trim();
            if rest == "(" {
                in_block = true;
                continue;
            }
            rest
        } else {
            continue;
        };
        let mut words = entry.split_whitespace();
        if let (Some(module), Some(version)) = (words.next(), words.next()) {
            found.push((
                module.trim_matches('"').to_string(),
                version.to_string(),
                index + 1,
            ));
        }
    }
    found
}

/// Go's row of the toolchain table.
pub(super) const TOOLCHAIN: super::CoreModuleToolchain = super::CoreModuleToolchain {
    language: super::Language::Go,
    runtime: "go",
    build,
    inputs,
};

/// The Go toolchain the build runs (its version is its executable).
fn inputs() -> crate::build_cache::ToolchainInputs {
    crate::build_cache::ToolchainInputs {
        paths: go().into_iter().collect(),
        variables: &["WASM_LAMBDA_GO"],
    }
}

fn go() -> Option<std::path::PathBuf> {
    find_tool("go", "WASM_LAMBDA_GO", ".venv/bin")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_aws_lambda_go_file_is_compiled_in() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../guest-sdk/go/aws-lambda-go");
        let mut on_disk = Vec::new();
        let mut folders = vec![root.clone()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().to_string();
                if path.is_dir() {
                    if name != "testdata" {
                        folders.push(path);
                    }
                } else if name == "go.mod" || (name.ends_with(".go") && !name.ends_with("_test.go"))
                {
                    on_disk.push(path.strip_prefix(&root).unwrap().display().to_string());
                }
            }
        }
        on_disk.sort();
        let mut compiled_in: Vec<String> = AWS_LAMBDA_GO_FILES
            .iter()
            .map(|(name, _)| name.to_string())
            .collect();
        compiled_in.sort();
        assert_eq!(compiled_in, on_disk);
    }

    #[test]
    fn requirements_are_read_from_lines_and_blocks() {
        let go_mod = "module example.com/orders\n\ngo 1.22\n\n\
            require github.com/aws/aws-lambda-go v1.47.0\n\n\
            require (\n\tgithub.com/aws/aws-sdk-go-v2 v1.30.0 // indirect\n\t\"golang.org/x/text\" v0.14.0\n)\n";
        assert_eq!(
            requirements(go_mod),
            [
                (
                    "github.com/aws/aws-lambda-go".to_string(),
                    "v1.47.0".to_string(),
                    5
                ),
                (
                    "github.com/aws/aws-sdk-go-v2".to_string(),
                    "v1.30.0".to_string(),
                    8
                ),
                ("golang.org/x/text".to_string(), "v0.14.0".to_string(), 9),
            ]
        );
        let error = check_requirements(go_mod).unwrap_err().to_string();
        assert!(
            error.contains("github.com/aws/aws-sdk-go-v2 v1.30.0 (go.mod line 8), golang.org/x/text v0.14.0 (go.mod line 9)"),
            "{error}"
        );
        assert!(!error.contains("aws-lambda-go v1.47.0"), "{error}");
        assert!(
            check_requirements("module m\n\nrequire github.com/aws/aws-lambda-go v1.47.0\n")
                .is_ok()
        );
    }
}
