//! `wasm-lambda build` of a Python or JavaScript project whose inputs did
//! not change returns the component it built before, without running the
//! toolchain; an edit builds again. (Which inputs count is checked input by
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
    let function = host()
        .load(FunctionConfig::new("edited", component))
        .unwrap();
    json(invoke(&function, "{}").await.payload())
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
