//! Loading a function: validating its configuration, compiling its component
//! (or loading the cached artifact), unpacking its files and linking it
//! once against the host's linker.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::Engine;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, InstancePre};

use crate::bindings::{HandlerPre, KNOWN_INTERFACES};
use crate::cache::{ArtifactCache, LoadSource};
use crate::config::FunctionConfig;
use crate::environment;
use crate::error::LoadError;
use crate::function::{Function, FunctionInner, LoadInfo};
use crate::host::Host;
use crate::host::Snapshots;
use crate::marker;
use crate::state::State;

impl Host {
    /// Loads a function: reads its component, compiles it or loads the cached
    /// artifact, and links it once into a pre-instance that every invocation
    /// instantiates from.
    ///
    /// This does CPU-heavy work (compiling takes seconds for large
    /// components); from async code, call it in `spawn_blocking`.
    pub fn load(&self, config: FunctionConfig) -> Result<Function, LoadError> {
        config.validate()?;
        environment::validate(&config.environment).map_err(LoadError::InvalidConfig)?;
        let started = Instant::now();
        let path = config.component.clone();
        let bytes = std::fs::read(&path).map_err(|source| LoadError::Read {
            path: path.clone(),
            source,
        })?;
        check_is_component(&path, &bytes)?;
        let engine = &self.shared.engine.engine;
        // Hashed once: the artifact's key and the snapshot's both start
        // from it (tens of megabytes for the interpreters).
        let component_hash = blake3::hash(&bytes);
        // A marker is safe to read from any bytes (`marker::read_runtime`);
        // it names the runtime in the environment, which keys the snapshot.
        let runtime = marker::read_runtime(&bytes);
        let log_stream_name = environment::new_log_stream_name(&config.version);
        let environment = Arc::new(environment::variables(
            &config,
            &log_stream_name,
            runtime.as_deref(),
        ));
        // Credentials stay out of the init phase: each sandbox gets its own.
        let init_environment = Arc::new(environment::without_credentials(&environment));
        let snapshot_key = crate::snapshot::key(&component_hash, &init_environment);
        let snapshots = self.shared.cache.within(crate::cache::SNAPSHOTS_FOLDER);
        // A snapshot made before for these bytes and this environment (by an
        // earlier load or by `wasm-lambda package`) needs only its own
        // artifact: the component's is not loaded at all.
        let cached = self.cached_snapshot(&snapshots, &path, &snapshot_key);
        // A snapshot to take here runs the init phase in the instrumented
        // copy of the component, which serves until the snapshot replaces
        // it: the component's own artifact is compiled only when no
        // snapshot is taken (`initialise`). That is one compile of an
        // interpreter fewer on a first load.
        let instrumented = match (&cached, self.shared.snapshots) {
            (None, Snapshots::Make) if crate::snapshot::declares_init(&bytes) => {
                self.instrumented(&path, &bytes)
            }
            _ => None,
        };
        let (component, source, instrumented) = match (&cached, instrumented) {
            // The snapshot's source stands for the component's: its own
            // artifact was not needed.
            (Some((component, source, _)), _) => (component.clone(), *source, None),
            (None, Some((instrumented, component, source))) => {
                (component, source, Some(instrumented))
            }
            (None, None) => {
                let (component, source) =
                    compile(&self.shared.cache, engine, &path, &bytes, &component_hash)?;
                (component, source, None)
            }
        };
        let files = crate::files::unpack(
            &bytes,
            self.shared.cache.dir(),
            self.shared.cache.read_only(),
        )
        .map_err(|source| LoadError::Files {
            path: path.clone(),
            source,
        })?;
        let pre = self.link(&path, &component)?;
        let mut inner = FunctionInner {
            host: self.clone(),
            arn: config.arn(),
            log_group_name: config.log_group_name(),
            environment,
            snapshot_key,
            log_stream_name,
            grants: Arc::new(config.allowed_outbound_hosts.clone()),
            config,
            pre,
            component,
            preopens: Vec::new(),
            runtime,
            files,
            load: LoadInfo {
                source,
                duration: Duration::ZERO,
                snapshot: None,
            },
            unreported_load: Mutex::new(None),
            unreported_init_output: Mutex::new(None),
            warm: self.warm().cell(),
            making: Default::default(),
            running: Default::default(),
            started: Default::default(),
        };
        if let Some((_, snapshot_source, facts)) = cached {
            inner.unreported_init_output = Mutex::new(Some(facts.output));
            inner.preopens = facts.preopens;
            inner.load.snapshot = Some(snapshot_source);
            tracing::debug!("{}: init phase snapshotted (cached)", path.display());
        } else if let Some(instrumented) = instrumented {
            self.initialise(
                &mut inner,
                &instrumented,
                &bytes,
                &component_hash,
                &snapshot_key,
                &init_environment,
                &snapshots,
            )?;
        } else if self.shared.snapshots == Snapshots::ExistingOnly
            && crate::snapshot::declares_init(&bytes)
        {
            tracing::info!(
                "{}: no snapshot was made for this configuration, the init phase runs in every sandbox",
                path.display()
            );
        }
        let duration = started.elapsed();
        inner.load.duration = duration;
        inner.unreported_load = Mutex::new(Some(duration));
        Ok(Function {
            inner: Arc::new(inner),
        })
    }

    /// The snapshot cached under `key`, compiled: its artifact from the
    /// cache, or compiled from its bytes when only those are there. `None`
    /// when there is none, or only a package's entry whose artifact this
    /// engine cannot load.
    fn cached_snapshot(
        &self,
        snapshots: &ArtifactCache,
        path: &Path,
        key: &blake3::Hash,
    ) -> Option<(Arc<Component>, LoadSource, crate::snapshot::EntryFacts)> {
        let engine = &self.shared.engine.engine;
        if let Some((component, facts)) = self.shared.snapshots_resident.get(key) {
            crate::snapshot::mark_used(snapshots, engine, key);
            return Some((component, LoadSource::Resident, facts));
        }
        let (bytes, facts) = crate::snapshot::find(snapshots, key)?;
        if let Some((component, source)) = snapshots.load_existing(engine, key) {
            let component = self
                .shared
                .snapshots_resident
                .keep(*key, component, facts.clone());
            return Some((component, source, facts));
        }
        let bytes = match bytes.is_empty() {
            true => crate::snapshot::find_bytes(snapshots, key)?,
            false => bytes,
        };
        match compile(snapshots, engine, path, &bytes, key) {
            Ok((component, _)) => {
                let component = self
                    .shared
                    .snapshots_resident
                    .keep(*key, component, facts.clone());
                Some((component, LoadSource::Cache, facts))
            }
            Err(error) => {
                tracing::warn!(
                    "{}: the cached snapshot does not compile, taking a new one: {error}",
                    path.display()
                );
                None
            }
        }
    }

    /// The instrumented copy of the component in `bytes`, compiled, with
    /// its compile's source; `None` (with a log line) when it cannot be
    /// made, so that the component is loaded as it is.
    fn instrumented<'a>(
        &self,
        path: &Path,
        bytes: &'a [u8],
    ) -> Option<(
        crate::snapshot::Instrumented<'a>,
        Arc<Component>,
        LoadSource,
    )> {
        let no_snapshot = |reason: String| log_no_snapshot(path, &reason);
        let instrumented = crate::snapshot::instrument(bytes)
            .map_err(no_snapshot)
            .ok()?;
        let hash = blake3::hash(instrumented.bytes());
        let engine = &self.shared.engine.engine;
        match compile(
            &self.shared.cache,
            engine,
            path,
            instrumented.bytes(),
            &hash,
        ) {
            Ok((component, source)) => Some((instrumented, component, source)),
            Err(error) => {
                no_snapshot(error.to_string());
                None
            }
        }
    }

    /// Runs the function's init phase at load, in the instrumented copy of
    /// its component that `inner` holds, and swaps that for the snapshot
    /// (`snapshot.rs`). When there is no snapshot to take, says why in a
    /// log line and loads the component itself (`bytes`, with
    /// `component_hash`), whose init phase then runs in every sandbox.
    #[allow(clippy::too_many_arguments)]
    fn initialise(
        &self,
        inner: &mut FunctionInner,
        instrumented: &crate::snapshot::Instrumented<'_>,
        bytes: &[u8],
        component_hash: &blake3::Hash,
        key: &blake3::Hash,
        environment: &Arc<Vec<(String, String)>>,
        snapshots: &ArtifactCache,
    ) -> Result<(), LoadError> {
        let path = inner.config.component.clone();
        let engine = &self.shared.engine.engine;
        let made = instrumented.snapshot(key, environment, snapshots.dir(), &inner.recipe());
        match made {
            Ok(snapshot) => {
                // A snapshot's artifact is kept with the snapshot, under its
                // key (one per environment, not one per component), in the
                // cache's budget.
                let (component, _) = compile(snapshots, engine, &path, &snapshot.bytes, key)?;
                let component =
                    self.shared
                        .snapshots_resident
                        .keep(*key, component, snapshot.facts.clone());
                inner.pre = self.link(&path, &component)?;
                inner.component = component;
                inner.preopens = snapshot.facts.preopens;
                inner.unreported_init_output = Mutex::new(Some(snapshot.facts.output));
                inner.load.snapshot = Some(LoadSource::Compiled);
                tracing::debug!("{}: init phase snapshotted", path.display());
            }
            Err(reason) => {
                log_no_snapshot(&path, &reason);
                let (component, source) =
                    compile(&self.shared.cache, engine, &path, bytes, component_hash)?;
                inner.pre = self.link(&path, &component)?;
                inner.component = component;
                inner.load.source = source;
            }
        }
        Ok(())
    }

    fn link(&self, path: &Path, component: &Component) -> Result<HandlerPre<State>, LoadError> {
        let unknown_world = |reason: String| LoadError::UnknownWorld {
            path: path.to_path_buf(),
            reason,
        };
        let engine = &self.shared.engine.engine;
        let component_type = component.component_type();
        // A component built against another version of the contract says so
        // in its import names: name the version rather than a missing import.
        for (name, _) in component_type.imports(engine) {
            if name.starts_with("wasm-lambda:handler/") && !KNOWN_INTERFACES.contains(&name) {
                return Err(unknown_world(format!(
                    "it imports `{name}`, from a contract version this host does not speak"
                )));
            }
        }
        let exports: Vec<String> = component_type
            .exports(engine)
            .filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentFunc(_)))
            .map(|(name, _)| format!("`{name}`"))
            .collect();
        if !exports.iter().any(|name| name == "`handle`") {
            let found = if exports.is_empty() {
                "no functions".to_string()
            } else {
                exports.join(", ")
            };
            return Err(unknown_world(format!(
                "it exports {found} instead of `handle`"
            )));
        }
        let instance_pre: InstancePre<State> = self
            .shared
            .linker
            .instantiate_pre(component)
            .map_err(|error| unknown_world(format!("{error:#}")))?;
        HandlerPre::new(instance_pre).map_err(|error| unknown_world(format!("{error:#}")))
    }
}

/// Loads `bytes` (whose hash is `hash`) from `cache`, or compiles them; a
/// failure is a load error naming the function's component.
fn compile(
    cache: &ArtifactCache,
    engine: &Engine,
    path: &Path,
    bytes: &[u8],
    hash: &blake3::Hash,
) -> Result<(Arc<Component>, LoadSource), LoadError> {
    cache.load(engine, bytes, hash).map_err(|source| {
        // wasmtime checks the component against the pool's limits as it
        // loads it (memories, tables and core instances in all and per
        // module, initial sizes, an instance's context): that is a limit the
        // component is over, not a failure to compile. Enforced by
        // `load::a_component_over_the_pool_limits_is_refused_at_load`.
        if source
            .chain()
            .any(|cause| cause.to_string().contains("pooling allocator"))
        {
            LoadError::OverPoolLimits {
                path: path.to_path_buf(),
                limit: source.root_cause().to_string(),
            }
        } else {
            LoadError::Compile {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

/// Says why the function at `path` has no load-time snapshot.
fn log_no_snapshot(path: &Path, reason: &str) {
    tracing::info!(
        "{}: no load-time snapshot, the init phase runs in every sandbox: {reason}",
        path.display()
    );
}

/// Tells a component from a core module or a file that is not WebAssembly.
fn check_is_component(path: &Path, bytes: &[u8]) -> Result<(), LoadError> {
    let not_a_component = |reason: &str| LoadError::NotAComponent {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    if wasmparser::Parser::is_component(bytes) {
        Ok(())
    } else if wasmparser::Parser::is_core_wasm(bytes) {
        Err(not_a_component(
            "it is a core WebAssembly module; build it as a component \
             (`wasm-lambda build`, or `--target wasm32-wasip2` for Rust)",
        ))
    } else {
        Err(not_a_component("it is not WebAssembly at all"))
    }
}
