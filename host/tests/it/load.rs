//! Loading: what is refused and why, and the precompiled-artifact cache.

use std::path::{Path, PathBuf};

use wasm_lambda::{
    Allocator, EngineConfig, FunctionConfig, Host, HostConfig, LoadError, LoadSource, WORLD,
};

use crate::common::{guest, host, invoke, repo_root};

fn load_error(config: FunctionConfig) -> LoadError {
    match host().load(config) {
        Ok(_) => panic!("expected the load to fail"),
        Err(error) => error,
    }
}

#[test]
fn a_missing_file_is_a_read_error() {
    let error = load_error(FunctionConfig::new("f", "/nonexistent/handler.wasm"));
    assert!(matches!(error, LoadError::Read { .. }));
    assert!(error.to_string().contains("/nonexistent/handler.wasm"));
}

#[test]
fn a_file_that_is_not_webassembly_is_refused() {
    let path = repo_root().join("Cargo.toml");
    let error = load_error(FunctionConfig::new("f", &path));
    assert!(matches!(error, LoadError::NotAComponent { .. }));
    assert!(
        error.to_string().contains("not WebAssembly at all"),
        "{error}"
    );
}

/// A component that instantiates `instances` copies of a core module with
/// `memories` memories and `tables` tables (of `table_size` elements).
fn component_needing(instances: u32, memories: u32, tables: u32, table_size: u64) -> Vec<u8> {
    use wasm_encoder::{
        Component, InstanceSection, MemorySection, MemoryType, Module, ModuleSection, RefType,
        TableSection, TableType,
    };
    let mut module = Module::new();
    let mut tables_section = TableSection::new();
    for _ in 0..tables {
        tables_section.table(TableType {
            element_type: RefType::FUNCREF,
            minimum: table_size,
            maximum: None,
            table64: false,
            shared: false,
        });
    }
    module.section(&tables_section);
    let mut memories_section = MemorySection::new();
    for _ in 0..memories {
        memories_section.memory(MemoryType {
            minimum: 1,
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
    }
    module.section(&memories_section);
    let mut component = Component::new();
    component.section(&ModuleSection(&module));
    let mut instances_section = InstanceSection::new();
    for _ in 0..instances {
        instances_section.instantiate(0, Vec::<(&str, wasm_encoder::ModuleArg)>::new());
    }
    component.section(&instances_section);
    component.finish()
}

/// A component needing more of an instance than the pool gives one is
/// refused when it is loaded, as over a limit, naming it (wasmtime checks
/// as it loads the component; the host called that a failure to compile).
#[test]
fn a_component_over_the_pool_limits_is_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes, named) in [
        // Across the component's instances.
        ("memories", component_needing(11, 1, 0, 0), "11"),
        ("tables", component_needing(21, 0, 1, 1), "21"),
        ("instances", component_needing(51, 0, 0, 0), "51"),
        // Within one module.
        (
            "module-memories",
            component_needing(1, 2, 0, 0),
            "memories count of 2",
        ),
        ("table-size", component_needing(1, 0, 1, 200_000), "200000"),
    ] {
        let path = dir.path().join(format!("{name}.wasm"));
        std::fs::write(&path, bytes).unwrap();
        let error = load_error(FunctionConfig::new(name, &path));
        assert!(
            matches!(error, LoadError::OverPoolLimits { .. }),
            "{name}: {error}"
        );
        assert!(error.to_string().contains(named), "{name}: {error}");
    }
    // Within the limits, the same shape gets as far as the world check.
    let path = dir.path().join("within.wasm");
    std::fs::write(&path, component_needing(2, 1, 1, 10)).unwrap();
    let error = load_error(FunctionConfig::new("within", &path));
    assert!(matches!(error, LoadError::UnknownWorld { .. }), "{error}");
}

#[test]
fn a_core_module_is_refused_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("core.wasm");
    // The smallest valid core module: magic and version.
    std::fs::write(&path, b"\0asm\x01\0\0\0").unwrap();
    let error = load_error(FunctionConfig::new("f", &path));
    assert!(
        error.to_string().contains("core WebAssembly module"),
        "{error}"
    );
    assert!(error.to_string().contains("wasm32-wasip2"), "{error}");
}

#[test]
fn a_component_of_another_world_is_refused_naming_the_expected_one() {
    let error = load_error(FunctionConfig::new("f", guest("host/tests/guests/command")));
    assert!(matches!(error, LoadError::UnknownWorld { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains(WORLD), "{message}");
    assert!(message.contains("instead of `handle`"), "{message}");
}

#[test]
fn configurations_outside_lambdas_limits_are_refused() {
    let mut config = FunctionConfig::new("f", guest("host/tests/guests/probe"));
    config.memory_mb = 64;
    assert!(matches!(
        load_error(config.clone()),
        LoadError::InvalidConfig(_)
    ));
    config.memory_mb = 128;
    config.timeout = std::time::Duration::from_secs(901);
    assert!(load_error(config.clone()).to_string().contains("900"));
    config.timeout = std::time::Duration::from_secs(3);
    config
        .environment
        .insert("AWS_LAMBDA_FUNCTION_NAME".into(), "x".into());
    assert!(load_error(config).to_string().contains("reserved"));
}

fn host_with_cache(dir: PathBuf) -> Host {
    Host::new(HostConfig {
        cache_dir: Some(dir),
        ..HostConfig::default()
    })
    .unwrap()
}

/// The paths directly in the cache folder `dir` whose names end with
/// `suffix` (`""` for all of them).
fn files_in(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.to_string_lossy().ends_with(suffix))
        .collect()
}

/// The id of the init phase a probe's sandbox started from, from its
/// answer to `{"action":"init"}`.
fn init_id(payload: &str) -> serde_json::Value {
    crate::common::json(payload)["initId"].clone()
}

#[tokio::test]
async fn the_cache_serves_the_second_load_and_survives_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_with_cache(dir.path().to_path_buf());
    let config = FunctionConfig::new("hello", guest("examples/rust/hello"));

    let first = host.load(config.clone()).unwrap();
    assert_eq!(first.load_info().source, LoadSource::Compiled);
    // Dropped, so the next load reads the cache rather than sharing it.
    drop(first);
    let second = host.load(config.clone()).unwrap();
    assert_eq!(second.load_info().source, LoadSource::Cache);
    drop(second);

    // Flip a byte in every entry, artifacts and Cranelift's per-function
    // entries alike: the next load recompiles instead of trusting damaged
    // machine code, and still runs.
    let mut folders = vec![dir.path().to_path_buf()];
    let mut files = Vec::new();
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    assert!(
        files.len() > 1,
        "an artifact and function entries: {files:?}"
    );
    for path in files {
        let mut bytes = std::fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
    }
    let third = host.load(config.clone()).unwrap();
    assert_eq!(third.load_info().source, LoadSource::Compiled);
    let invocation = invoke(&third, r#"{"first_name":"A","last_name":"B"}"#).await;
    assert_eq!(invocation.payload(), r#"{"message":"Hello A B!"}"#);
    // The recompiled artifact was stored again.
    drop(third);
    assert_eq!(
        host.load(config).unwrap().load_info().source,
        LoadSource::Cache
    );
}

#[test]
fn concurrent_loads_of_one_component_share_the_cache_safely() {
    let dir = tempfile::tempdir().unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let dir = dir.path().to_path_buf();
            std::thread::spawn(move || {
                let host = host_with_cache(dir);
                host.load(FunctionConfig::new(
                    "calculator",
                    guest("examples/rust/calculator"),
                ))
                .map(|_| ())
                .map_err(|error| error.to_string())
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap().unwrap();
    }
    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        // Cranelift's per-function entries have a folder of their own.
        .filter(|name| name != "functions")
        .collect();
    assert_eq!(
        entries.len(),
        1,
        "one entry, no temporary leftovers: {entries:?}"
    );
    let host = host_with_cache(dir.path().to_path_buf());
    let reloaded = host
        .load(FunctionConfig::new(
            "calculator",
            guest("examples/rust/calculator"),
        ))
        .unwrap();
    assert_eq!(reloaded.load_info().source, LoadSource::Cache);
}

#[tokio::test]
async fn on_demand_allocation_runs_the_same_handlers() {
    let host = Host::new(HostConfig {
        engine: EngineConfig {
            pooling: false,
            ..EngineConfig::default()
        },
        cache_dir: None,
        ..HostConfig::default()
    })
    .unwrap();
    assert_eq!(host.allocator(), Allocator::OnDemand);
    let function = host
        .load(FunctionConfig::new(
            "calculator",
            guest("examples/rust/calculator"),
        ))
        .unwrap();
    let invocation = invoke(&function, r#"{"action":"increment","number":3}"#).await;
    assert_eq!(invocation.payload(), r#"{"result":4}"#);
}

#[test]
fn the_shared_host_uses_the_pooling_allocator() {
    assert_eq!(host().allocator(), Allocator::Pooling);
}

#[test]
fn built_components_record_their_runtime() {
    let bytes = std::fs::read(guest("examples/rust/hello")).unwrap();
    assert_eq!(
        wasm_lambda::marker::read_runtime(&bytes).as_deref(),
        Some("rust")
    );
    let function = host()
        .load(FunctionConfig::new("hello", guest("examples/rust/hello")))
        .unwrap();
    assert_eq!(function.runtime(), Some("rust"));
}

/// A function whose snapshot is cached loads from the snapshot's artifact
/// alone: with every artifact of the component itself removed, the second
/// load takes the snapshot and compiles nothing, and an event still starts
/// where the one init phase ended.
#[tokio::test]
async fn a_cached_snapshot_loads_without_the_components_own_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_with_cache(dir.path().to_path_buf());
    let config = FunctionConfig::new("snapshotted", guest("host/tests/guests/js/probe"));
    let first = host.load(config.clone()).unwrap();
    assert_eq!(first.load_info().snapshot, Some(LoadSource::Compiled));
    let made = init_id(invoke(&first, r#"{"action":"init"}"#).await.payload());

    let top_level_artifacts = || files_in(dir.path(), ".cwasm");
    let removed = top_level_artifacts();
    assert!(!removed.is_empty(), "the first load compiled the component");
    // Dropped, so the next load reads the cache rather than sharing it.
    drop(first);
    for path in &removed {
        std::fs::remove_file(path).unwrap();
    }
    let second = host.load(config).unwrap();
    assert_eq!(second.load_info().snapshot, Some(LoadSource::Cache));
    assert_eq!(second.load_info().source, LoadSource::Cache);
    assert_eq!(
        top_level_artifacts(),
        Vec::<PathBuf>::new(),
        "nothing compiled"
    );
    assert_eq!(
        init_id(invoke(&second, r#"{"action":"init"}"#).await.payload()),
        made
    );
}

/// A component this host has loaded stays resident while a function uses
/// it: another load of the same bytes shares it (its compiled code and, for
/// a snapshot, the snapshot's memory images) even in another environment,
/// and reads nothing from the cache. Once the last function is dropped it
/// is unmapped, and the next load reads the cache again.
#[tokio::test]
async fn a_second_load_of_the_same_component_shares_the_first_ones_memory() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_with_cache(dir.path().to_path_buf());
    let hello = |value: &str| {
        let mut config = FunctionConfig::new("hello", guest("examples/rust/hello"));
        config.environment.insert("SETTING".into(), value.into());
        config
    };
    let first = host.load(hello("a")).unwrap();
    assert_eq!(first.load_info().source, LoadSource::Compiled);
    let second = host.load(hello("b")).unwrap();
    assert_eq!(second.load_info().source, LoadSource::Resident);
    let event = r#"{"first_name":"A","last_name":"B"}"#;
    for function in [&first, &second] {
        assert_eq!(
            invoke(function, event).await.payload(),
            r#"{"message":"Hello A B!"}"#
        );
    }
    drop((first, second));
    assert_eq!(
        host.load(hello("c")).unwrap().load_info().source,
        LoadSource::Cache,
        "nothing held the component: it was unmapped"
    );

    // A snapshotted function shares the snapshot, and each sandbox still
    // starts where the one init phase ended, with state of its own.
    let probe = FunctionConfig::new("snapshotted", guest("host/tests/guests/js/probe"));
    let first = host.load(probe.clone()).unwrap();
    assert_eq!(first.load_info().snapshot, Some(LoadSource::Compiled));
    // The shared snapshot's files (entry, bytes, artifact) read as used
    // long ago, so that the sharing load must mark them used again for
    // the cache's eviction to keep them.
    let snapshot_files = || files_in(&dir.path().join("snapshots"), "");
    let long_ago = std::time::SystemTime::UNIX_EPOCH;
    assert_eq!(snapshot_files().len(), 3, "{:?}", snapshot_files());
    for path in snapshot_files() {
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(long_ago).unwrap();
    }
    let second = host.load(probe).unwrap();
    assert_eq!(second.load_info().snapshot, Some(LoadSource::Resident));
    assert_eq!(second.load_info().source, LoadSource::Resident);
    for path in snapshot_files() {
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        assert!(
            modified > long_ago + std::time::Duration::from_secs(86_400),
            "{} is marked used",
            path.display()
        );
    }
    let (a, b) = (
        init_id(invoke(&first, r#"{"action":"init"}"#).await.payload()),
        init_id(invoke(&second, r#"{"action":"init"}"#).await.payload()),
    );
    assert_eq!(a, b, "one init phase");
    assert!(a.is_string(), "the probe reports its init id: {a}");
}

/// A first load that takes a snapshot compiles the component's
/// instrumented copy (which runs the init phase) and the snapshot, not the
/// component itself: only a load without a snapshot needs its artifact.
#[tokio::test]
async fn a_first_load_that_snapshots_does_not_compile_the_component_itself() {
    let artifacts = |dir: &Path| files_in(dir, ".cwasm").len();
    let dir = tempfile::tempdir().unwrap();
    let host = host_with_cache(dir.path().to_path_buf());
    let probe = host
        .load(FunctionConfig::new(
            "snapshotted",
            guest("host/tests/guests/js/probe"),
        ))
        .unwrap();
    assert_eq!(probe.load_info().snapshot, Some(LoadSource::Compiled));
    assert_eq!(artifacts(dir.path()), 1, "the instrumented copy's alone");
    assert_eq!(artifacts(&dir.path().join("snapshots")), 1);
    let invocation = invoke(&probe, r#"{"action":"init"}"#).await;
    assert!(
        init_id(invocation.payload()).is_string(),
        "{}",
        invocation.log
    );

    // An init phase that cannot be snapshotted (it reads files while a
    // folder is mounted): the component itself is compiled, and runs.
    let dir = tempfile::tempdir().unwrap();
    let host = host_with_cache(dir.path().to_path_buf());
    let layer = tempfile::tempdir().unwrap();
    let mut config = FunctionConfig::new("refused", guest("host/tests/guests/python/boto3_client"));
    config.mounts = vec![wasm_lambda::Mount {
        source: layer.path().to_path_buf(),
        destination: "/opt".into(),
    }];
    config.aws_credentials = Some(wasm_lambda::AwsCredentials {
        access_key_id: "AKIDREFUSED".into(),
        secret_access_key: "secret".into(),
        session_token: None,
    });
    let refused = host.load(config).unwrap();
    assert_eq!(refused.load_info().snapshot, None);
    assert_eq!(
        artifacts(dir.path()),
        2,
        "the instrumented copy's and the component's"
    );
    let invocation = invoke(&refused, "{}").await;
    assert_eq!(
        crate::common::json(invocation.payload())["s3"],
        "AKIDREFUSED",
        "{}",
        invocation.log
    );
}

/// A snapshot's bytes are kept in a file beside its entry, so that a load
/// that finds the snapshot's artifact reads only the small entry. When the
/// artifact is gone (the cache's budget removed it, or another engine made
/// it), the load compiles the snapshot from those bytes: the init phase
/// does not run again.
#[tokio::test]
async fn a_snapshot_whose_artifact_is_gone_is_compiled_from_its_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_with_cache(dir.path().to_path_buf());
    let config = FunctionConfig::new("snapshotted", guest("host/tests/guests/js/probe"));
    let first = host.load(config.clone()).unwrap();
    assert_eq!(first.load_info().snapshot, Some(LoadSource::Compiled));
    let made = init_id(invoke(&first, r#"{"action":"init"}"#).await.payload());
    drop(first);

    let snapshots = dir.path().join("snapshots");
    let files = |suffix: &str| files_in(&snapshots, suffix);
    let entry_size = files(".snapshot")
        .iter()
        .map(|path| std::fs::metadata(path).unwrap().len())
        .sum::<u64>();
    assert!(
        entry_size < 4096,
        "the entry holds the facts alone: {entry_size} bytes"
    );
    assert_eq!(files(".snapshot.wasm").len(), 1, "the bytes beside it");
    let artifacts = files(".cwasm");
    assert_eq!(artifacts.len(), 1, "{artifacts:?}");
    std::fs::remove_file(&artifacts[0]).unwrap();

    let second = host.load(config).unwrap();
    assert_eq!(second.load_info().snapshot, Some(LoadSource::Cache));
    assert_eq!(
        init_id(invoke(&second, r#"{"action":"init"}"#).await.payload()),
        made,
        "the one init phase's snapshot, compiled again"
    );
    assert_eq!(files(".cwasm").len(), 1, "its artifact was stored again");
}
