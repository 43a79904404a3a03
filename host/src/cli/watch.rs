//! `--watch` for `serve` and `invoke`: waiting for an edit of a function's
//! source folder (or its component file), and bringing its component up
//! to date.
//!
//! The watch is inotify's, through `notify`, one directory at a time.
//! What no build reads is never watched: the folders the build's cache
//! skips too ([`UNREAD_FOLDERS`]), the top-level `build/` the build writes
//! to, and what the folder's `.gitignore` names. So neither a build's own
//! output nor a large `node_modules` costs a watch or triggers a rebuild. `node_modules` itself is watched,
//! not its contents: npm rewrites `node_modules/.package-lock.json` when it
//! installs or removes a package, and that change does trigger one.
//!
//! A change is acted on once the folder has been quiet for the debounce
//! period (100 ms by default), so that an editor's several writes, or a
//! `git checkout` of many files, make one rebuild.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use notify::Watcher as _;
use wasm_lambda::Host;
use wasm_lambda::build::{BuildOptions, NPM_INSTALL_RECORD, UNREAD_FOLDERS, build};
use wasm_lambda::server::{FunctionSpec, Reloader};

/// How long a folder must be quiet before a change is acted on, unless
/// `--debounce` says otherwise.
pub const DEFAULT_DEBOUNCE_MS: u64 = 100;

/// What a watched function is made from.
pub enum Source {
    /// A handler project, built with `wasm-lambda build`'s toolchains (and
    /// its cache: an unchanged project costs a fingerprint, not a build).
    Folder(BuildOptions),
    /// A component file, replaced by whatever builds it.
    Component(PathBuf),
}

impl Source {
    /// A folder is built (for `handler` when given: then into
    /// `build/<function>.wasm`, so that functions with different handlers
    /// in one folder do not share a component); anything else is taken as
    /// a component.
    pub fn of(path: &Path, handler: Option<&str>, function: &str) -> Source {
        if !path.is_dir() {
            return Source::Component(path.to_path_buf());
        }
        let mut options = BuildOptions::new(path);
        if let Some(handler) = handler {
            options.handler = Some(handler.to_string());
            options.output = Some(path.join("build").join(format!("{function}.wasm")));
        }
        Source::Folder(options)
    }

    /// What is watched.
    pub fn path(&self) -> &Path {
        match self {
            Source::Folder(options) => &options.dir,
            Source::Component(path) => path,
        }
    }

    /// The component, up to date: a folder is built (the build's cache
    /// answers at once when nothing changed); the error is the
    /// toolchain's, with the file and line of what it refused.
    pub fn update(&self) -> Result<PathBuf> {
        match self {
            Source::Folder(options) => {
                // One build at a time: a build takes every core it is
                // given, and functions that share a folder share outputs.
                static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
                let _turn = ONE_AT_A_TIME
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                let built = build(options, &mut |_| {})?;
                for warning in &built.warnings {
                    eprintln!("warning: {warning}");
                }
                Ok(built.component)
            }
            Source::Component(path) if path.is_file() => Ok(path.clone()),
            Source::Component(path) => bail!("{} is not a file", path.display()),
        }
    }
}

/// A fingerprint of a component's bytes, to tell a rebuild that made the
/// same component (a `Cargo.lock` rewritten, a file saved unchanged) from
/// one that did not.
pub fn digest(component: &Path) -> Result<u64> {
    use std::hash::{Hash as _, Hasher as _};
    let bytes = std::fs::read(component)
        .with_context(|| format!("failed to read {}", component.display()))?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    Ok(hasher.finish())
}

/// A function `serve` watches: its settings (with `component` the built
/// file) and what it is made from.
pub struct WatchedFunction {
    spec: FunctionSpec,
    source: Source,
}

/// Builds the functions whose `component` is a handler's folder (the
/// server loads components) and returns those to watch: every function
/// with `--watch`, else those with `watch = true`.
pub fn prepare_functions(
    functions: &mut [FunctionSpec],
    watch_all: bool,
) -> Result<Vec<WatchedFunction>> {
    let mut watched = Vec::new();
    for spec in functions {
        let source = Source::of(
            &spec.component,
            spec.settings.handler.as_deref(),
            &spec.name,
        );
        if let Source::Folder(_) = &source {
            eprintln!(
                "wasm-lambda: building function {} from {}",
                spec.name,
                spec.component.display()
            );
            let update = source.update().with_context(|| {
                format!(
                    "function {}: failed to build {}",
                    spec.name,
                    spec.component.display()
                )
            })?;
            spec.component = update;
        }
        if watch_all || spec.server.watch == Some(true) {
            watched.push(WatchedFunction {
                spec: spec.clone(),
                source,
            });
        }
    }
    Ok(watched)
}

/// Starts watching `function` on a thread of its own: after each change it
/// rebuilds, loads (compiling and snapshotting) and swaps the new code in
/// through `reloader`, all off the request path. A build or load that
/// fails leaves the old code serving and prints the error.
pub fn serve_watched(
    host: &Host,
    reloader: Reloader,
    region: String,
    function: WatchedFunction,
    debounce: Duration,
) -> Result<()> {
    let WatchedFunction { spec, source } = function;
    let mut watch = Watch::new(&source, debounce)?;
    eprintln!(
        "wasm-lambda: function {} watches {}",
        spec.name,
        source.path().display()
    );
    let host = host.clone();
    std::thread::Builder::new()
        .name(format!("watch {}", spec.name))
        .spawn(move || {
            let name = spec.name.clone();
            let mut serving = digest(&spec.component).ok();
            loop {
                let changed = match watch.changed() {
                    Ok(path) => path,
                    Err(error) => {
                        eprintln!("wasm-lambda: {name}: the watch stopped: {error:#}");
                        return;
                    }
                };
                eprintln!("wasm-lambda: {name}: {} changed", changed.display());
                let _ = reloader.begin(&name);
                let started = Instant::now();
                let loaded = source.update().and_then(|component| {
                    let fresh = digest(&component)?;
                    if Some(fresh) == serving {
                        return Ok(None);
                    }
                    let mut config = spec.to_function_config(&region)?;
                    config.component = component.clone();
                    Ok(Some((host.load(config)?, component, fresh)))
                });
                let outcome = match loaded {
                    Ok(None) => reloader.keep(&name).map(|()| {
                        eprintln!("wasm-lambda: {name}: the component did not change")
                    }),
                    Ok(Some((function, component, fresh))) => {
                        reloader.replace(&name, function, &component).map(|()| {
                            serving = Some(fresh);
                            eprintln!(
                                "wasm-lambda: {name}: new code serves (rebuilt and loaded in {:.1} s)",
                                started.elapsed().as_secs_f64()
                            )
                        })
                    }
                    Err(error) => {
                        let reason = format!("{error:#}");
                        eprintln!(
                            "wasm-lambda: {name}: the rebuild failed; the previous code keeps serving:\n{reason}"
                        );
                        reloader.fail(&name, &reason)
                    }
                };
                if let Err(error) = outcome {
                    eprintln!("wasm-lambda: {name}: {error:#}");
                }
            }
        })
        .context("failed to start a watch thread")?;
    Ok(())
}

/// Waits for changes of a [`Source`].
pub struct Watch {
    watcher: notify::RecommendedWatcher,
    events: mpsc::Receiver<notify::Result<notify::Event>>,
    filter: Filter,
    debounce: Duration,
}

impl Watch {
    /// Starts watching `source`; changes from now on are reported.
    pub fn new(source: &Source, debounce: Duration) -> Result<Watch> {
        let (sender, events) = mpsc::channel();
        let watcher = notify::recommended_watcher(sender).context("failed to start watching")?;
        let filter = match source {
            Source::Folder(options) => Filter::folder(&options.dir),
            Source::Component(path) => Filter::File(
                std::path::absolute(path)
                    .with_context(|| format!("failed to find {}", path.display()))?,
            ),
        };
        let mut watch = Watch {
            watcher,
            events,
            filter,
            debounce,
        };
        match &watch.filter {
            Filter::File(file) => {
                // The folder, not the file: an atomic replace (a new file
                // renamed over it) would end a watch of the old file.
                let folder = file.parent().unwrap_or(Path::new("/")).to_path_buf();
                watch
                    .watcher
                    .watch(&folder, notify::RecursiveMode::NonRecursive)
                    .with_context(|| format!("failed to watch {}", folder.display()))?;
            }
            Filter::Folder { root, .. } => {
                let root = root.clone();
                watch.add_tree(&root)?;
            }
        }
        Ok(watch)
    }

    /// Watches `dir` and every folder under it that is not ignored.
    fn add_tree(&mut self, dir: &Path) -> Result<()> {
        self.watcher
            .watch(dir, notify::RecursiveMode::NonRecursive)
            .with_context(|| format!("failed to watch {}", dir.display()))?;
        if dir.file_name().is_some_and(|name| name == "node_modules") {
            return Ok(());
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let is_dir = entry.file_type().is_ok_and(|kind| kind.is_dir());
            if is_dir && !self.filter.ignores(&path, true) {
                // A folder that went away meanwhile is no error.
                let _ = self.add_tree(&path);
            }
        }
        Ok(())
    }

    /// Blocks until a change that counts, then until the source has been
    /// quiet for the debounce period; returns the first path that changed.
    pub fn changed(&mut self) -> Result<PathBuf> {
        let first = loop {
            let event = self.events.recv().context("the watch ended")?;
            if let Some(path) = self.relevant(event) {
                break path;
            }
        };
        let mut quiet_since = Instant::now();
        loop {
            let left = self.debounce.saturating_sub(quiet_since.elapsed());
            match self.events.recv_timeout(left) {
                Ok(event) => {
                    if self.relevant(event).is_some() {
                        quiet_since = Instant::now();
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => return Ok(first),
                Err(mpsc::RecvTimeoutError::Disconnected) => bail!("the watch ended"),
            }
        }
    }

    /// The path of an event that should trigger a rebuild; a new folder
    /// that is not ignored is watched from now on.
    fn relevant(&mut self, event: notify::Result<notify::Event>) -> Option<PathBuf> {
        let event = match event {
            Ok(event) => event,
            // The kernel's queue overflowed: something changed, but what is
            // unknown.
            Err(_) => return Some(self.filter.root().to_path_buf()),
        };
        if matches!(event.kind, notify::EventKind::Access(_)) {
            return None;
        }
        let mut found = None;
        for path in event.paths {
            let is_dir = path.is_dir();
            if self.filter.ignores(&path, is_dir) {
                continue;
            }
            if is_dir && matches!(self.filter, Filter::Folder { .. }) {
                let _ = self.add_tree(&path);
            }
            found.get_or_insert(path);
        }
        found
    }
}

/// Which changed paths count.
enum Filter {
    /// Only this file.
    File(PathBuf),
    /// A project folder, less what no build reads.
    Folder {
        root: PathBuf,
        gitignore: Option<ignore::gitignore::Gitignore>,
    },
}

impl Filter {
    fn folder(dir: &Path) -> Filter {
        let root = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let gitignore_file = root.join(".gitignore");
        let gitignore = gitignore_file.is_file().then(|| {
            let (rules, error) = ignore::gitignore::Gitignore::new(&gitignore_file);
            if let Some(error) = error {
                eprintln!("warning: {}: {error}", gitignore_file.display());
            }
            rules
        });
        Filter::Folder { root, gitignore }
    }

    fn root(&self) -> &Path {
        match self {
            Filter::File(file) => file,
            Filter::Folder { root, .. } => root,
        }
    }

    /// Whether a change of `path` is not one to rebuild for.
    fn ignores(&self, path: &Path, is_dir: bool) -> bool {
        let (root, gitignore) = match self {
            Filter::File(file) => return path != file,
            Filter::Folder { root, gitignore } => (root, gitignore),
        };
        let Ok(relative) = path.strip_prefix(root) else {
            return true;
        };
        let parts: Vec<&str> = relative
            .components()
            .filter_map(|part| part.as_os_str().to_str())
            .collect();
        let Some(name) = parts.last() else {
            return false;
        };
        if parts.first() == Some(&"build") {
            return true;
        }
        if parts.iter().any(|part| UNREAD_FOLDERS.contains(part)) {
            return true;
        }
        if let Some(at) = parts.iter().position(|part| *part == "node_modules") {
            // `node_modules` itself, and npm's record of what it installed.
            let below = &parts[at + 1..];
            return !(below.is_empty() || below == [NPM_INSTALL_RECORD]);
        }
        // Editors' swap, backup and probe files.
        if name.ends_with('~')
            || name.ends_with(".swp")
            || name.ends_with(".swx")
            || name.starts_with(".#")
            || *name == "4913"
        {
            return true;
        }
        gitignore.as_ref().is_some_and(|rules| {
            rules
                .matched_path_or_any_parents(relative, is_dir)
                .is_ignore()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignored(filter: &Filter, root: &Path, path: &str) -> bool {
        filter.ignores(&root.join(path), false)
    }

    #[test]
    fn only_changes_a_build_reads_count() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::path::absolute(dir.path()).unwrap();
        std::fs::write(root.join(".gitignore"), "*.log\n/scratch/\n").unwrap();
        let filter = Filter::folder(&root);
        for counted in [
            "lambda_function.py",
            "src/lib.rs",
            "package.json",
            "requirements.txt",
            "lib/build/helper.py",
            "node_modules",
            "node_modules/.package-lock.json",
        ] {
            assert!(!ignored(&filter, &root, counted), "{counted} is ignored");
        }
        for skipped in [
            "build/handler.wasm",
            ".git/index",
            "node_modules/left-pad/index.js",
            "app/node_modules/x/.package-lock.json",
            "__pycache__/lambda_function.cpython-314.pyc",
            "target/release/x",
            ".venv/bin/python",
            "handler.py~",
            ".handler.py.swp",
            "4913",
            "debug.log",
            "scratch/notes.txt",
        ] {
            assert!(ignored(&filter, &root, skipped), "{skipped} is not ignored");
        }
        assert!(filter.ignores(Path::new("/elsewhere/x.py"), false));
    }

    #[test]
    fn a_component_watch_counts_only_that_file() {
        let filter = Filter::File(PathBuf::from("/srv/fn/hello.wasm"));
        assert!(!filter.ignores(Path::new("/srv/fn/hello.wasm"), false));
        assert!(filter.ignores(Path::new("/srv/fn/other.wasm"), false));
        assert!(filter.ignores(Path::new("/srv/fn/.hello.wasm.tmp"), false));
    }

    #[test]
    fn a_burst_of_writes_is_one_change_and_ignored_writes_none() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::path::absolute(dir.path()).unwrap();
        std::fs::create_dir_all(root.join("build")).unwrap();
        std::fs::write(root.join("handler.py"), "x = 1\n").unwrap();
        let source = Source::Folder(BuildOptions::new(&root));
        let mut watch = Watch::new(&source, Duration::from_millis(300)).unwrap();
        // Writes to an ignored folder come first: they must not be reported.
        std::fs::write(root.join("build/out.wasm"), "ignored").unwrap();
        for value in 2..6 {
            std::fs::write(root.join("handler.py"), format!("x = {value}\n")).unwrap();
        }
        let changed = watch.changed().unwrap();
        assert_eq!(changed, root.join("handler.py"));
        // The burst was one change: nothing is left to report.
        std::fs::write(root.join("build/again.wasm"), "ignored").unwrap();
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = sender.send(watch.changed());
        });
        assert!(
            receiver.recv_timeout(Duration::from_secs(1)).is_err(),
            "a change was reported after the burst"
        );
    }

    #[test]
    fn a_folder_made_after_the_watch_began_is_watched() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::path::absolute(dir.path()).unwrap();
        let source = Source::Folder(BuildOptions::new(&root));
        let mut watch = Watch::new(&source, Duration::from_millis(50)).unwrap();
        std::fs::create_dir(root.join("pkg")).unwrap();
        // The folder's creation is itself a change.
        assert_eq!(watch.changed().unwrap(), root.join("pkg"));
        std::fs::write(root.join("pkg/module.py"), "y = 1\n").unwrap();
        assert_eq!(watch.changed().unwrap(), root.join("pkg/module.py"));
    }
}
