//! A build reads nothing of the building machine outside the function's
//! folder, its layers and the SDK, and runs no code of the function's
//! packages natively: once `serve` builds uploaded code, the building
//! machine is the server. Each test plants a secret beside the function
//! and tries one way of reaching it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{contains, guest_target_dir, text};
use wasm_lambda::build::{BuildOptions, build};

const SECRET: &str = "planted-secret-7f3a91";

/// A folder holding `secret.txt` (the machine's file) and `fn/` (the
/// function, written by the caller).
struct Planted {
    root: tempfile::TempDir,
}

impl Planted {
    fn new() -> Planted {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("secret.txt"), SECRET).unwrap();
        std::fs::create_dir(root.path().join("fn")).unwrap();
        Planted { root }
    }

    fn secret(&self) -> PathBuf {
        self.root.path().join("secret.txt")
    }

    fn function(&self) -> PathBuf {
        self.root.path().join("fn")
    }

    fn write(&self, relative: &str, contents: &str) {
        let path = self.function().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    /// Builds the function; the error's text when it fails. A component
    /// that was made must not hold the secret.
    fn build(&self) -> Result<PathBuf, String> {
        let options = BuildOptions {
            target_dir: Some(guest_target_dir()),
            output: Some(self.root.path().join("out.wasm")),
            ..BuildOptions::new(self.function())
        };
        let built = build(&options, &mut |_| {}).map_err(|error| format!("{error:#}"))?;
        let bytes = std::fs::read(&built.component).unwrap();
        assert!(
            !contains(&bytes, SECRET.as_bytes()),
            "the component holds the planted secret"
        );
        Ok(built.component)
    }
}

/// `../` enough times to reach `/` from any staging folder, then the path.
fn climbing_to(path: &Path) -> String {
    format!(
        "{}{}",
        "../".repeat(40),
        path.to_string_lossy().trim_start_matches('/')
    )
}

fn assert_refused(result: Result<PathBuf, String>, naming: &str) {
    match result {
        Ok(_) => panic!("the build succeeded"),
        Err(message) => {
            assert!(message.contains(naming), "{message}");
            assert!(
                !message.contains(SECRET),
                "the error shows the secret: {message}"
            );
        }
    }
}

#[test]
fn a_javascript_text_import_of_an_absolute_path_fails_the_build() {
    let planted = Planted::new();
    planted.write(
        "index.mjs",
        &format!(
            "import secret from {:?} with {{ type: 'text' }};\nexport const handler = async () => secret;\n",
            planted.secret()
        ),
    );
    assert_refused(planted.build(), "is outside the function's folder");
}

#[test]
fn a_javascript_import_that_climbs_out_of_the_folder_fails_the_build() {
    let planted = Planted::new();
    planted.write(
        "index.js",
        &format!(
            "const secret = require({:?});\nexports.handler = async () => secret;\n",
            climbing_to(&planted.root.path().join("secret.json"))
        ),
    );
    std::fs::write(
        planted.root.path().join("secret.json"),
        format!("{{\"secret\":\"{SECRET}\"}}"),
    )
    .unwrap();
    assert_refused(planted.build(), "is outside the function's folder");
}

#[test]
fn a_javascript_package_linked_to_a_folder_elsewhere_fails_the_build() {
    let planted = Planted::new();
    let outside = planted.root.path().join("elsewhere");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(
        outside.join("index.js"),
        format!("module.exports = {SECRET:?};\n"),
    )
    .unwrap();
    planted.write(
        "index.js",
        "const secret = require('leak');\nexports.handler = async () => secret;\n",
    );
    std::fs::create_dir(planted.function().join("node_modules")).unwrap();
    std::os::unix::fs::symlink(&outside, planted.function().join("node_modules/leak")).unwrap();
    assert_refused(planted.build(), "is outside the function's folder");
}

#[test]
fn a_javascript_lock_file_installing_a_local_folder_fails_the_build() {
    let planted = Planted::new();
    planted.write(
        "index.js",
        "const secret = require('leak');\nexports.handler = async () => secret;\n",
    );
    planted.write(
        "package.json",
        r#"{"name":"f","version":"1.0.0","dependencies":{"leak":"file:../elsewhere"}}"#,
    );
    planted.write(
        "package-lock.json",
        r#"{"name":"f","version":"1.0.0","lockfileVersion":3,"requires":true,
            "packages":{"":{"name":"f","version":"1.0.0","dependencies":{"leak":"file:../elsewhere"}},
            "../elsewhere":{"version":"1.0.0"},
            "node_modules/leak":{"resolved":"../elsewhere","link":true}}}"#,
    );
    assert_refused(planted.build(), "a folder or file of the building machine");
}

#[test]
fn a_python_requirement_naming_a_file_of_the_machine_fails_the_build() {
    let planted = Planted::new();
    planted.write(
        "lambda_function.py",
        "def lambda_handler(event, context):\n    return 1\n",
    );
    for requirements in [
        format!("{}\n", planted.secret().display()),
        format!("leak @ file://{}\n", planted.secret().display()),
        format!("-r {}\n", climbing_to(&planted.secret())),
        format!("--find-links {}\nleak\n", planted.root.path().display()),
        "--no-binary :all:\nsix\n".to_string(),
    ] {
        planted.write("requirements.txt", &requirements);
        assert_refused(planted.build(), "requirements.txt, line");
    }
}

/// componentize-py adds a virtual environment's packages to what the build
/// snapshot sees: VIRTUAL_ENV's when it is set. The build's own empty one
/// takes its place, so a package imported at build time finds nothing of
/// the machine through any of the snapshot's folders.
#[test]
fn a_python_build_snapshot_sees_only_the_functions_folders() {
    let planted = Planted::new();
    let venv = planted.root.path().join("venv");
    let site_packages = venv.join("lib/python3.14/site-packages");
    std::fs::create_dir_all(&site_packages).unwrap();
    std::fs::write(site_packages.join("planted_secret.txt"), SECRET).unwrap();
    // Imported at build time (a layer's package, as one from
    // requirements.txt would be): walks every folder the snapshot has.
    let layer = planted.root.path().join("layer");
    std::fs::create_dir_all(layer.join("python/probe")).unwrap();
    std::fs::write(
        layer.join("python/probe/__init__.py"),
        "import os\n\
         FOUND = []\n\
         SEEN = []\n\
         for index in range(12):\n\
         \x20   for folder, _, names in os.walk(f'/{index}'):\n\
         \x20       SEEN += [n for n in names if n in ('lambda_function.py', 'wasm_lambda_runtime.py')]\n\
         \x20       FOUND += [os.path.join(folder, n) for n in names if 'planted' in n]\n",
    )
    .unwrap();
    planted.write(
        "lambda_function.py",
        "import probe\n\ndef lambda_handler(event, context):\n    \
         return {'found': probe.FOUND, 'seen': probe.SEEN}\n",
    );
    let out = planted.root.path().join("out.wasm");
    let built = Command::new(env!("CARGO_BIN_EXE_wasm-lambda"))
        .arg("build")
        .arg(planted.function())
        .arg("--layer")
        .arg(&layer)
        .arg("-o")
        .arg(&out)
        .env("VIRTUAL_ENV", &venv)
        .env("CARGO_TARGET_DIR", guest_target_dir())
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", text(&built.stderr));
    assert!(!contains(&std::fs::read(&out).unwrap(), SECRET.as_bytes()));
    let answer =
        crate::common::wasm_lambda(&["invoke", &out.to_string_lossy(), "--event", "{}"], None);
    assert!(answer.status.success(), "{}", text(&answer.stderr));
    let payload = crate::common::json(text(&answer.stdout).trim());
    assert_eq!(payload["found"], serde_json::json!([]), "{payload}");
    // The walk did see the snapshot's folders (the code's and the SDK's
    // files), so an empty list is not a walk that saw nothing. (The
    // standard library's folder is empty during the first Python build on
    // a machine, which fills it, so its files are not counted on.)
    let mut seen: Vec<&str> = payload["seen"]
        .as_array()
        .unwrap()
        .iter()
        .map(|name| name.as_str().unwrap())
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        ["lambda_function.py", "wasm_lambda_runtime.py"],
        "{payload}"
    );
}
