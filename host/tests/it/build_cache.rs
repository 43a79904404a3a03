//! `wasm-lambda build` of a project whose inputs did not change returns the
//! component it built before, without running the toolchain, in every
//! language but Rust (cargo's own check); an edit builds again. (Which inputs count is checked input by
//! input in `build_cache.rs`'s unit tests.)

use std::path::Path;

use crate::common::{guest_target_dir, host, invoke, json};
use wasm_lambda::FunctionConfig;
use wasm_lambda::build::{BuildOptions, BuildOutput, build};

fn build_in(dir: &Path) -> BuildOutput {
    let options = BuildOptions {
        target_dir: Some(guest_target_dir()),
        ..BuildOptions::new(dir)
    };
    let mut steps = 0;
    let built = build(&options, &mut |_| steps += 1).unwrap();
    // A skipped build reports no toolchain step; a real one does.
    assert_eq!(built.unchanged, steps == 0, "{steps} steps");
    built
}

async fn answer(component: &Path) -> serde_json::Value {
    answer_to(component, "{}").await
}

async fn answer_to(component: &Path, event: &str) -> serde_json::Value {
    let function = host()
        .load(FunctionConfig::new("edited", component))
        .unwrap();
    json(invoke(&function, event).await.payload())
}

#[tokio::test]
async fn an_unchanged_project_is_not_built_again_and_an_edit_is() {
    for (file, before, after) in [
        (
            "lambda_function.py",
            "def lambda_handler(event, context):\n    return {'says': 'before'}\n",
            "def lambda_handler(event, context):\n    return {'says': 'after'}\n",
        ),
        (
            "index.mjs",
            "export const handler = async () => ({ says: 'before' });\n",
            "export const handler = async () => ({ says: 'after' });\n",
        ),
    ] {
        let project = tempfile::tempdir().unwrap();
        std::fs::write(project.path().join(file), before).unwrap();
        let first = build_in(project.path());
        assert!(!first.unchanged, "{file}: the first build builds");
        let written = std::fs::metadata(&first.component)
            .unwrap()
            .modified()
            .unwrap();

        let second = build_in(project.path());
        assert!(second.unchanged, "{file}: nothing changed");
        assert_eq!(second.component, first.component);
        assert_eq!(
            std::fs::metadata(&second.component)
                .unwrap()
                .modified()
                .unwrap(),
            written,
            "{file}: the component was not written again"
        );

        std::fs::write(project.path().join(file), after).unwrap();
        let third = build_in(project.path());
        assert!(!third.unchanged, "{file}: an edit builds again");
        assert_eq!(answer(&third.component).await["says"], "after", "{file}");
    }
}

/// A copy of `examples/<language>/hello` with fresh modification times.
fn hello_copy(language: &str, into: &Path) {
    let example = crate::common::repo_root()
        .join("examples")
        .join(language)
        .join("hello");
    for entry in std::fs::read_dir(example).unwrap().flatten() {
        if entry.file_type().unwrap().is_file() {
            let text = std::fs::read(entry.path()).unwrap();
            std::fs::write(into.join(entry.file_name()), text).unwrap();
        }
    }
}

#[tokio::test]
async fn an_unchanged_go_c_zig_or_assemblyscript_project_is_not_built_again_and_an_edit_is() {
    let event = r#"{"first_name":"Ada","last_name":"Lovelace"}"#;
    for (language, source) in [
        ("go", "main.go"),
        ("c", "handler.c"),
        ("zig", "handler.zig"),
        ("assemblyscript", "index.ts"),
    ] {
        let project = tempfile::tempdir().unwrap();
        hello_copy(language, project.path());
        let first = build_in(project.path());
        assert!(!first.unchanged, "{language}: the first build builds");
        let second = build_in(project.path());
        assert!(second.unchanged, "{language}: nothing changed");
        assert_eq!(second.component, first.component);

        let path = project.path().join(source);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("Hello "), "{language}: no greeting to edit");
        std::fs::write(&path, text.replace("Hello ", "Edited ")).unwrap();
        let third = build_in(project.path());
        assert!(!third.unchanged, "{language}: an edit builds again");
        assert_eq!(
            answer_to(&third.component, event).await["message"],
            "Edited Ada Lovelace!",
            "{language}"
        );
    }
}
