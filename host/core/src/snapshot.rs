//! Load-time initialisation: Lambda SnapStart's model applied to every fresh
//! sandbox.
//!
//! A component that exports `init` (the contract's `handler-with-init`
//! world; the Python and JavaScript SDKs do) has an init phase: importing the handler
//! module and running its top-level code. Run per sandbox, that phase is
//! most of a cold start. So when a function is loaded, the host runs it
//! once, in a sandbox with the function's environment, and snapshots the
//! instance's memories and globals into a new component (wasmtime-wizer's
//! component support). Every invocation still gets a never-used sandbox; it
//! is instantiated from the snapshot and starts where the init phase ended.
//!
//! A snapshot only holds linear memory and globals, not the host-side
//! resources (streams, files, sockets) the guest held handles to: a guest
//! that still holds one after `init` would find the handle dangling in the
//! next sandbox. One kind is carried over: handles to the preopened folders,
//! which wasi-libc lists at its first file access and keeps (a module-level
//! `boto3.client` reads botocore's files). The snapshot records them
//! (`KeptPreopen`) and each sandbox made from it gets new handles to the
//! same folders at the same indices (`Sandbox::create`). Any other handle
//! left open, or a failed init phase, means no snapshot (the SDK keeps
//! output off WASI while it runs, and returns it instead): the function
//! runs as before, its init phase at the first call of each sandbox
//! (`python::an_init_phase_that_keeps_a_file_open_runs_in_every_sandbox`,
//! `python::a_boto3_client_made_at_module_level_is_snapshotted_and_signs_with_the_sandboxs_credentials`).
//!
//! Snapshots are cached in the cache folder's `snapshots/`, with their
//! compiled artifacts, keyed by the component's bytes, the environment the
//! init phase saw (minus the log stream name, which is new at every load)
//! and this host's version; the folder has a size budget. The artifact is
//! stored under the snapshot's key, so a load that finds a snapshot needs
//! neither the component's own artifact nor the snapshot's bytes: a
//! deployment package carries the artifact and an entry holding only what
//! the init phase printed (`wasm-lambda package`, [`write_packaged`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{Instance, Lift, WasmList};
use wasmtime::{Engine, Store};
use wasmtime_wizer::{ComponentInstanceState, Wizer};

use crate::bindings::INIT_EXPORT;
use crate::cache::ArtifactCache;
use crate::logs::LogPipe;
use crate::sandbox::{CallEnd, NotReserved, Recipe, Reserved, Sandbox};
use crate::scratch::KeptPreopen;
use crate::state::State;

/// Lambda's limit on a function's init phase.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The variable left out of the snapshot's key (it differs at every load).
pub(crate) const PER_LOAD_VARIABLE: &str = "AWS_LAMBDA_LOG_STREAM_NAME";

/// A function's component after its init phase.
pub(crate) struct Snapshot {
    /// The initialised component, as WebAssembly.
    pub(crate) bytes: Vec<u8>,
    /// What the init phase printed and the handles its guest kept.
    pub(crate) facts: EntryFacts,
}

impl KeptPreopen {
    /// One line of a snapshot entry: the numbers, then the path.
    fn line(&self) -> String {
        format!(
            "{} {} {} {}\n",
            self.instance, self.table, self.handle, self.path
        )
    }

    fn parse(line: &str) -> Option<KeptPreopen> {
        let mut parts = line.splitn(4, ' ');
        Some(KeptPreopen {
            instance: parts.next()?.parse().ok()?,
            table: parts.next()?.parse().ok()?,
            handle: parts.next()?.parse().ok()?,
            path: parts.next()?.to_string(),
        })
    }
}

/// Whether the component in `bytes` has an init phase the host can run:
/// a function it exports under that name, read from its own export section
/// without compiling it (nested modules and components are skipped), so
/// that a load knows before compiling anything whether it will snapshot.
pub(crate) fn declares_init(bytes: &[u8]) -> bool {
    use wasmparser::{Chunk, ComponentExternalKind, Parser, Payload};
    let mut parser = Parser::new(0);
    let mut offset = 0;
    while offset < bytes.len() {
        let Ok(Chunk::Parsed { consumed, payload }) = parser.parse(&bytes[offset..], true) else {
            return false;
        };
        offset += consumed;
        match payload {
            // The parser has stepped over a nested one; so do its bytes.
            Payload::ModuleSection {
                unchecked_range, ..
            }
            | Payload::ComponentSection {
                unchecked_range, ..
            } => offset = unchecked_range.end,
            Payload::ComponentExportSection(exports)
                if exports.clone().into_iter().flatten().any(|export| {
                    export.name.name == INIT_EXPORT && export.kind == ComponentExternalKind::Func
                }) =>
            {
                return true;
            }
            Payload::End(_) => return false,
            _ => {}
        }
    }
    false
}

/// The cache key of the snapshot of the component with `component_hash` in
/// `environment`.
pub(crate) fn key(component_hash: &blake3::Hash, environment: &[(String, String)]) -> blake3::Hash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"wasm-lambda snapshot v2 ");
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    hasher.update(component_hash.as_bytes());
    for (name, value) in environment {
        if name != PER_LOAD_VARIABLE {
            for part in [name, value] {
                hasher.update(&(part.len() as u64).to_le_bytes());
                hasher.update(part.as_bytes());
            }
        }
    }
    hasher.finalize()
}

/// The entry in the snapshots `folder` for a snapshot with this key: what
/// its init phase printed and the handles it kept. Entries written before
/// the snapshot's bytes had a file of their own hold them too.
fn entry_path(folder: &Path, key: &blake3::Hash) -> PathBuf {
    folder.join(format!("{}.snapshot", key.to_hex()))
}

/// The snapshot's component, as WebAssembly, beside its entry: read only
/// when its artifact is missing or from another engine. A load that finds
/// the artifact reads the small entry alone, not tens of megabytes.
fn bytes_path(folder: &Path, key: &blake3::Hash) -> PathBuf {
    folder.join(format!("{}.snapshot.wasm", key.to_hex()))
}

/// The path of the entry for a snapshot with this key, relative to the
/// cache folder.
pub(crate) fn entry_name(key: &blake3::Hash) -> PathBuf {
    entry_path(Path::new(crate::cache::SNAPSHOTS_FOLDER), key)
}

/// What an entry holds besides the snapshot's bytes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct EntryFacts {
    /// What the init phase printed.
    pub(crate) output: String,
    /// The handles to preopened folders its guest kept.
    pub(crate) preopens: Vec<KeptPreopen>,
}

/// An entry: the bytes' length and the bytes, the kept handles' length and
/// one line per handle, then the output.
fn encode(bytes: &[u8], facts: &EntryFacts) -> Vec<u8> {
    let handles: String = facts.preopens.iter().map(KeptPreopen::line).collect();
    let mut entry = Vec::with_capacity(16 + bytes.len() + handles.len() + facts.output.len());
    entry.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    entry.extend_from_slice(bytes);
    entry.extend_from_slice(&(handles.len() as u64).to_le_bytes());
    entry.extend_from_slice(handles.as_bytes());
    entry.extend_from_slice(facts.output.as_bytes());
    entry
}

fn decode(mut entry: Vec<u8>) -> Option<(Vec<u8>, EntryFacts)> {
    let length = usize::try_from(u64::from_le_bytes(entry.get(..8)?.try_into().ok()?)).ok()?;
    let rest = entry.get(8 + length..)?;
    let handles_length =
        usize::try_from(u64::from_le_bytes(rest.get(..8)?.try_into().ok()?)).ok()?;
    let handles = std::str::from_utf8(rest.get(8..8 + handles_length)?).ok()?;
    let preopens = handles
        .lines()
        .map(KeptPreopen::parse)
        .collect::<Option<Vec<_>>>()?;
    let output = String::from_utf8(rest.get(8 + handles_length..)?.to_vec()).ok()?;
    entry.truncate(8 + length);
    entry.drain(..8);
    Some((entry, EntryFacts { output, preopens }))
}

/// The snapshot with `key` in the read-only folders of `snapshots`, then in
/// its writable one: its bytes when its entry holds them (entries written
/// now keep them in a file of their own, [`find_bytes`]; a package ships
/// the artifact alone) and what its init phase printed.
pub(crate) fn find(snapshots: &ArtifactCache, key: &blake3::Hash) -> Option<(Vec<u8>, EntryFacts)> {
    find_file(snapshots, key, entry_path, decode)
}

/// The bytes of the snapshot with `key`, from the file beside its entry,
/// in the read-only folders of `snapshots` and then its writable one.
pub(crate) fn find_bytes(snapshots: &ArtifactCache, key: &blake3::Hash) -> Option<Vec<u8>> {
    find_file(snapshots, key, bytes_path, Some)
}

/// The first of the snapshot's files named by `path` that is a valid
/// entry and that `parse` accepts: in the read-only folders of `snapshots`,
/// then in its writable one, where a hit marks the file used.
fn find_file<T>(
    snapshots: &ArtifactCache,
    key: &blake3::Hash,
    path: fn(&Path, &blake3::Hash) -> PathBuf,
    parse: fn(Vec<u8>) -> Option<T>,
) -> Option<T> {
    for folder in snapshots.read_only() {
        if let Some(found) = crate::cache::read_entry(&path(folder, key), key).and_then(parse) {
            return Some(found);
        }
    }
    let path = path(snapshots.dir()?, key);
    let found = crate::cache::read_entry(&path, key).and_then(parse)?;
    crate::cache::mark_used(&path);
    Some(found)
}

/// Marks the writable files of the snapshot with `key` (its entry, its
/// bytes and its artifact) used now: a load sharing the snapshot a held
/// function runs reads none of them, and eviction must still keep them.
pub(crate) fn mark_used(snapshots: &ArtifactCache, engine: &Engine, key: &blake3::Hash) {
    if let Some(dir) = snapshots.dir() {
        crate::cache::mark_used(&entry_path(dir, key));
        crate::cache::mark_used(&bytes_path(dir, key));
    }
    snapshots.mark_used(engine, key);
}

/// Writes the entry of a snapshot as a package carries it, into the
/// snapshots `folder`: what the init phase printed, without the snapshot's
/// bytes (its artifact, stored under the same key, is what a load uses).
pub(crate) fn write_packaged(
    folder: &Path,
    key: &blake3::Hash,
    facts: &EntryFacts,
) -> anyhow::Result<()> {
    crate::cache::write_entry(&entry_path(folder, key), key, &encode(&[], facts), false)
}

/// A component made ready to snapshot: the copy of it that exposes its
/// state (the one whose init phase runs), and what taking the snapshot
/// needs to know about the original.
pub(crate) struct Instrumented<'a> {
    wizer: Wizer,
    context: wasmtime_wizer::ComponentContext<'a>,
    bytes: Vec<u8>,
}

/// Instruments `component` for its init phase. `Err` says why it cannot
/// be snapshotted.
pub(crate) fn instrument(component: &[u8]) -> Result<Instrumented<'_>, String> {
    let wizer = Wizer::new();
    let (context, bytes) = wizer
        .instrument_component(component)
        .map_err(|error| format!("cannot instrument the component: {error:#}"))?;
    Ok(Instrumented {
        wizer,
        context,
        bytes,
    })
}

impl Instrumented<'_> {
    /// The instrumented component, as WebAssembly.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Runs the init phase once, in a sandbox made by `recipe` (whose `pre`
    /// is the instrumented component's), and snapshots it into an entry of
    /// the snapshots `folder` (when caching is on) under `key`. `Err` says
    /// why there is no snapshot: the init phase failed or left resources
    /// open, or the snapshot could not be made.
    pub(crate) fn snapshot(
        &self,
        key: &blake3::Hash,
        environment: &Arc<Vec<(String, String)>>,
        folder: Option<&Path>,
        recipe: &Recipe<'_>,
    ) -> Result<Snapshot, String> {
        // A snapshot holds the init phase's memory, the environment
        // included: the caller leaves the credentials out of it
        // (`load.rs`), so it may be written
        // (`faults::credentials_reach_no_file`).
        let recipe = Recipe {
            preopens: &[],
            ..recipe.clone()
        };
        // The init phase runs on a thread of its own with its own Tokio
        // runtime: loading is synchronous and may be called from inside a
        // runtime.
        let (bytes, facts) = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|error| format!("cannot start the init phase: {error}"))?;
                    runtime.block_on(run(
                        &self.wizer,
                        &self.context,
                        &recipe,
                        environment.clone(),
                    ))
                })
                .join()
                .unwrap_or_else(|_| Err("the snapshot could not be taken".to_string()))
        })?;
        if let Some(folder) = folder {
            // The bytes first: an entry found means its bytes were written
            // (unless the cache's budget removed them since, which costs a
            // new snapshot, not a wrong one).
            let written = crate::cache::write_entry(&bytes_path(folder, key), key, &bytes, true)
                .and_then(|()| {
                    crate::cache::write_entry(
                        &entry_path(folder, key),
                        key,
                        &encode(&[], &facts),
                        true,
                    )
                });
            if let Err(error) = written {
                tracing::warn!(
                    "cannot cache the snapshot in {}: {error:#}",
                    folder.display()
                );
            }
            // The cache's budget is enforced when the snapshot's artifact,
            // compiled next, is stored.
        }
        Ok(Snapshot { bytes, facts })
    }
}

async fn run(
    wizer: &Wizer,
    context: &wasmtime_wizer::ComponentContext<'_>,
    recipe: &Recipe<'_>,
    environment: Arc<Vec<(String, String)>>,
) -> Result<(Vec<u8>, EntryFacts), String> {
    let deadline = Instant::now() + INIT_TIMEOUT;
    let log = LogPipe::new(None);
    let reserved = Reserved::take(recipe, deadline)
        .await
        .map_err(|not| match not {
            NotReserved::NoSlot => format!("no sandbox was free within {INIT_TIMEOUT:?}"),
            NotReserved::Host(error) => error,
        })?;
    let environment = crate::environment::SandboxEnvironment::new(environment);
    let mut sandbox = Sandbox::create(recipe, reserved, environment, &log, deadline)
        .await
        .map_err(|end| describe(end, "instantiating the component"))?;
    sandbox.prepare(deadline, None);
    let printed = match sandbox.call_init(deadline).await {
        Ok(Ok(printed)) => printed,
        Ok(Err(error)) => return Err(format!("the init phase failed ({error})")),
        Err(end) => return Err(describe(end, "the init phase")),
    };
    let Some(preopens) = sandbox.kept_preopens() else {
        return Err("the init phase left files, streams or sockets open".to_string());
    };
    // A mounted folder's contents are not in the snapshot's key (the
    // component's own files are, with its bytes): an init phase that read
    // files while one is mounted (wasi-libc then holds a handle to each
    // folder) may have read it, and a snapshot of it could go stale
    // (`python::an_init_phase_that_reads_files_with_a_folder_mounted_runs_in_every_sandbox`).
    let mounted = |kept: &KeptPreopen| {
        recipe
            .capabilities
            .mounts
            .iter()
            .any(|mount| mount.destination == kept.path)
    };
    if preopens.iter().any(mounted) {
        return Err(
            "the init phase read files while a folder was mounted, whose contents a snapshot does not track"
                .to_string(),
        );
    }
    let (store, instance) = sandbox.parts();
    // The accessors hand over whole linear memories, which the function's
    // memory limit bounds already; the per-call cap on what a guest passes
    // to the host (128 MiB by default) refused the memory of a handler with
    // four AWS SDK clients (the corpus case js/esm-ssm-secrets-config),
    // which then ran its init phase in every sandbox.
    store.set_hostcall_fuel(usize::MAX);
    let bytes = wizer
        .snapshot_component(context, &mut Probe { store, instance })
        .await
        .map_err(|error| format!("cannot snapshot the component: {error:#}"))?;
    Ok((
        bytes,
        EntryFacts {
            output: log.take() + &printed,
            preopens,
        },
    ))
}

fn describe(end: CallEnd, phase: &str) -> String {
    match end {
        CallEnd::TimedOut => format!("{phase} took longer than {INIT_TIMEOUT:?}"),
        CallEnd::Trapped(error) => format!("{phase} trapped: {error:#}"),
        CallEnd::HostFailure(error) => format!("{phase} could not start: {error}"),
        CallEnd::Returned(_) | CallEnd::Oversized => format!("{phase} returned early"),
    }
}

/// Reads the instance's state through the accessors wizer's instrumentation
/// exported.
struct Probe<'a> {
    store: &'a mut Store<State>,
    instance: Instance,
}

impl Probe<'_> {
    async fn call<R: Lift + 'static, T>(
        &mut self,
        interface: &str,
        func: &str,
        read: impl FnOnce(&mut Store<State>, R) -> T,
    ) -> T {
        // The accessors exist and have these types by construction of the
        // instrumented component; a failure here is a wizer bug, reported as
        // a panic that `initialise` turns into "no snapshot".
        let (_, outer) = self
            .instance
            .get_export(&mut *self.store, None, interface)
            .expect("wizer's accessor interface");
        let (_, inner) = self
            .instance
            .get_export(&mut *self.store, Some(&outer), func)
            .expect("wizer's accessor");
        let func = self
            .instance
            .get_typed_func::<(), (R,)>(&mut *self.store, inner)
            .expect("wizer's accessor type");
        let value = func
            .call_async(&mut *self.store, ())
            .await
            .expect("wizer's accessor call")
            .0;
        read(&mut *self.store, value)
    }
}

impl ComponentInstanceState for Probe<'_> {
    async fn call_func_ret_list_u8(
        &mut self,
        interface: &str,
        func: &str,
        contents: impl FnOnce(&[u8]) + Send,
    ) {
        self.call(interface, func, |store, list: WasmList<u8>| {
            contents(list.as_le_slice(&store));
        })
        .await
    }

    async fn call_func_ret_s32(&mut self, interface: &str, func: &str) -> i32 {
        self.call(interface, func, |_, value| value).await
    }

    async fn call_func_ret_s64(&mut self, interface: &str, func: &str) -> i64 {
        self.call(interface, func, |_, value| value).await
    }

    async fn call_func_ret_f32(&mut self, interface: &str, func: &str) -> u32 {
        self.call(interface, func, |_, value: f32| value.to_bits())
            .await
    }

    async fn call_func_ret_f64(&mut self, interface: &str, func: &str) -> u64 {
        self.call(interface, func, |_, value: f64| value.to_bits())
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment(stream: &str, table: &str) -> Vec<(String, String)> {
        vec![
            (PER_LOAD_VARIABLE.to_string(), stream.to_string()),
            ("TABLE".to_string(), table.to_string()),
        ]
    }

    /// A component's binary with `nested` components inside it and then an
    /// export section exporting `(name, sort)` pairs (sort 1 is a function,
    /// 5 an instance).
    fn component(nested: &[Vec<u8>], exports: &[(&str, u8)]) -> Vec<u8> {
        let mut bytes = b"\0asm\x0d\0\x01\0".to_vec();
        let mut section = |id: u8, content: Vec<u8>| {
            bytes.push(id);
            bytes.push(u8::try_from(content.len()).unwrap());
            bytes.extend(content);
        };
        for component in nested {
            section(4, component.clone());
        }
        let mut content = vec![u8::try_from(exports.len()).unwrap()];
        for (index, (name, sort)) in exports.iter().enumerate() {
            content.extend([0, u8::try_from(name.len()).unwrap()]);
            content.extend(name.as_bytes());
            content.extend([*sort, u8::try_from(index).unwrap(), 0]);
        }
        section(11, content);
        bytes
    }

    #[test]
    fn only_a_function_the_component_itself_exports_is_its_init_phase() {
        assert!(declares_init(&component(
            &[],
            &[("handler", 1), ("init", 1)]
        )));
        assert!(!declares_init(&component(&[], &[("handler", 1)])));
        assert!(!declares_init(&component(&[], &[("init", 5)])));
        // A component nested inside it that exports `init` is not it.
        let inner = component(&[], &[("init", 1)]);
        assert!(declares_init(&inner));
        assert!(!declares_init(&component(
            std::slice::from_ref(&inner),
            &[("handler", 1)]
        )));
        // And its export section is found past the nested ones.
        assert!(declares_init(&component(&[inner], &[("init", 1)])));
        assert!(!declares_init(b"\0asm\x01\0\0\0"));
        assert!(!declares_init(b"not wasm"));
    }

    #[test]
    fn the_key_ignores_the_log_stream_and_nothing_else() {
        let component = &blake3::hash(b"component");
        let base = key(component, &environment("a", "orders"));
        assert_eq!(base, key(component, &environment("b", "orders")));
        assert_ne!(base, key(component, &environment("a", "users")));
        assert_ne!(
            base,
            key(&blake3::hash(b"other"), &environment("a", "orders"))
        );
        // Lengths are part of the key: moving a character across the
        // name/value boundary changes it.
        let shifted = vec![("TABLEo".to_string(), "rders".to_string())];
        let unshifted = vec![("TABLE".to_string(), "orders".to_string())];
        assert_ne!(key(component, &shifted), key(component, &unshifted));
    }

    #[test]
    fn an_entry_decodes_to_what_was_encoded_and_garbage_to_nothing() {
        let facts = EntryFacts {
            output: "printed\n".to_string(),
            preopens: vec![KeptPreopen {
                instance: 1,
                table: 7,
                handle: 3,
                path: "/var/task with space".to_string(),
            }],
        };
        let entry = encode(b"\0asm", &facts);
        assert_eq!(decode(entry), Some((b"\0asm".to_vec(), facts)));
        assert_eq!(decode(vec![1, 2, 3]), None);
        assert_eq!(decode(u64::MAX.to_le_bytes().to_vec()), None);
    }
}
