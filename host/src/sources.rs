//! Builds the source zips of Lambda's managed runtimes that `serve`'s
//! control plane is given (`CreateFunction` with `Runtime = "python3.12"`
//! and `Handler = "lambda_function.lambda_handler"`, say), with the same
//! toolchains and rules as `wasm-lambda build`: requirements.txt and
//! package.json are handled as the build handles them, and the build reads
//! nothing of the server outside the upload (see `build_isolation`).

use std::path::Path;
use std::sync::Mutex;

use anyhow::{Result, bail};

use crate::build::{BuildOptions, JS_RUNTIMES, Language, PYTHON_RUNTIMES, build};
use crate::server::SourceBuilder;

/// A [`SourceBuilder`] running `wasm-lambda build`'s toolchains, one build
/// at a time: a build takes every core it is given, and uploads arrive
/// together.
#[derive(Default)]
pub struct ToolchainBuilder {
    one_at_a_time: Mutex<()>,
}

impl SourceBuilder for ToolchainBuilder {
    fn build(&self, folder: &Path, runtime: &str, handler: &str, output: &Path) -> Result<()> {
        let language = if runtime.starts_with("python") {
            Language::Python
        } else if runtime.starts_with("nodejs") {
            Language::JavaScript
        } else {
            bail!("no toolchain builds {runtime} source");
        };
        let mut options = BuildOptions::new(folder);
        options.output = Some(output.to_path_buf());
        options.handler = Some(handler.to_string());
        options.language = Some(language);
        // A runtime the build knows by name builds for it; older Node.js
        // runtimes build for the default.
        if JS_RUNTIMES.contains(&runtime) || PYTHON_RUNTIMES.contains(&runtime) {
            options.runtime = Some(runtime.to_string());
        }
        let _turn = self
            .one_at_a_time
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        build(&options, &mut |_| {})?;
        Ok(())
    }
}
