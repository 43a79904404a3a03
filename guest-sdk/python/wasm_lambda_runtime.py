"""Lambda's Python runtime behaviour inside a wasm-lambda component.

The context object, the root logger, response marshalling and the error
shapes follow AWS Lambda's Python runtime, so a `lambda_function.py` written
for Lambda runs unchanged.
"""

import ast
import decimal
import importlib
import importlib.abc
import importlib.util
import io
import json
import linecache
import logging
import os
import re
import sys
import time
import traceback

from wit_world.imports import runtime as host_runtime

# Where Lambda puts the function's code; stack traces name files under it.
TASK_ROOT = "/var/task"

# The generated module `wasm-lambda build` writes next to the user's code.
CONFIG_MODULE = "_wasm_lambda_config"

# Modules the runtime itself needs at invocation time; the snapshot holds
# only modules imported at build time.
_RUNTIME_MODULES = ("json", "decimal", "traceback", "logging", "math")


# ---------------------------------------------------------------------------
# The context object


class CognitoIdentity:
    """`context.identity`, as in Lambda's Python runtime."""

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, identity_id=None, pool_id=None):
        self.cognito_identity_id = identity_id
        self.cognito_identity_pool_id = pool_id

    def __repr__(self):
        return (
            f"CognitoIdentity([cognito_identity_id={self.cognito_identity_id},"
            f"cognito_identity_pool_id={self.cognito_identity_pool_id}])"
        )


class Client:
    """`context.client_context.client`."""

    __slots__ = (
        "installation_id",
        "app_title",
        "app_version_name",
        "app_version_code",
        "app_package_name",
    )

    def __init__(self, client):
        self.installation_id = client.get("installation_id")
        self.app_title = client.get("app_title")
        self.app_version_name = client.get("app_version_name")
        self.app_version_code = client.get("app_version_code")
        self.app_package_name = client.get("app_package_name")


class ClientContext:
    """`context.client_context`: what a mobile SDK caller sent."""

    __slots__ = ("custom", "env", "client")

    def __init__(self, client_context):
        self.custom = client_context.get("custom")
        self.env = client_context.get("env")
        client = client_context.get("client")
        self.client = Client(client) if isinstance(client, dict) else None


class LambdaContext:
    """The `context` argument, with the attributes and method Lambda gives."""

    def __init__(self, context):
        self.aws_request_id = context.aws_request_id
        self.log_group_name = context.log_group_name
        self.log_stream_name = context.log_stream_name
        self.function_name = context.function_name
        # Lambda's Python runtime reads this from the environment: a string.
        self.memory_limit_in_mb = str(context.memory_limit_in_mb)
        self.function_version = context.function_version
        self.invoked_function_arn = context.invoked_function_arn
        self.tenant_id = context.tenant_id
        identity = context.identity
        self.identity = (
            CognitoIdentity(identity.cognito_identity_id, identity.cognito_identity_pool_id)
            if identity is not None
            else CognitoIdentity()
        )
        self.client_context = None
        if context.client_context:
            try:
                parsed = json.loads(context.client_context)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                self.client_context = ClientContext(parsed)

    def get_remaining_time_in_millis(self):
        """Milliseconds left before the invocation times out, measured now."""
        return host_runtime.remaining_time_ms()

    def __repr__(self):
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},"
            f"client_context={self.client_context},"
            f"identity={self.identity},"
            f"tenant_id={self.tenant_id}])"
        )


# ---------------------------------------------------------------------------
# Logging, set up as Lambda's Python runtime sets up the root logger

_request_id = ""
_tenant_id = None

# The function's log format, from AWS_LAMBDA_LOG_FORMAT: JSON makes the
# root logger's lines JSON records and the unhandled-error line one too.
_json_logs = False
# Whether the format and level were read from the function's environment:
# in the init phase (kept by the snapshot), or else at a sandbox's first call.
_log_settings_read = False

# Attributes every LogRecord has: the rest were given with `extra=` and go
# into a JSON record after Lambda's own keys.
_RECORD_ATTRIBUTES = frozenset(
    (
        "name msg args levelname levelno pathname filename module exc_info exc_text "
        "stack_info lineno funcName created msecs relativeCreated thread threadName "
        "processName process taskName aws_request_id tenant_id message asctime"
    ).split()
)


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _request_id
        return True


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever `sys.stdout` is at the time of the call, so the
    handler set up at build time writes to the invocation's stdout."""

    def __init__(self):
        super().__init__(sys.stdout)

    def emit(self, record):
        self.stream = sys.stdout
        super().emit(record)


class _LambdaFormatter(logging.Formatter):
    """Lambda's text line, or with the JSON format Lambda's JSON record:
    `timestamp` (to the second), `level` (Python's names), `message`,
    `logger`, the exception's `stackTrace`, `errorType`, `errorMessage`,
    `requestId`, the exception's `location`, then any `extra=` fields."""

    def format(self, record):
        if not _json_logs:
            return super().format(record)
        level = min(max(record.levelno, 0), 50) // 10 * 10
        fields = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
            "level": logging.getLevelName(level),
            "message": record.getMessage(),
            "logger": record.name,
        }
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            fields["stackTrace"] = traceback.format_tb(error.__traceback__)
            fields["errorType"] = type(error).__name__
            fields["errorMessage"] = str(error)
        fields["requestId"] = _request_id
        if error is not None:
            fields["location"] = f"{record.pathname}:{record.funcName}:{record.lineno}"
        if _tenant_id is not None:
            fields["tenantId"] = _tenant_id
        for name, value in record.__dict__.items():
            if name not in _RECORD_ATTRIBUTES and name not in fields:
                fields[name] = value
        return json.dumps(
            {name: value for name, value in fields.items() if value is not None},
            ensure_ascii=False,
            default=str,
        )


def _setup_logging():
    formatter = _LambdaFormatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
        "%Y-%m-%dT%H:%M:%S",
    )
    formatter.converter = time.gmtime
    handler = _StdoutHandler()
    handler.setFormatter(formatter)
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def _read_log_settings():
    """Lambda's logging controls, as its runtime reads them: the format from
    AWS_LAMBDA_LOG_FORMAT, the root logger's level from AWS_LAMBDA_LOG_LEVEL
    (TRACE is DEBUG). Read once, before the handler's module runs, so a level
    the module sets itself stays."""
    global _json_logs, _log_settings_read
    if _log_settings_read:
        return
    _log_settings_read = True
    _json_logs = os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    level = "DEBUG" if level == "TRACE" else level
    if level in logging.getLevelNamesMapping():
        logging.getLogger().setLevel(level)


# ---------------------------------------------------------------------------
# The bundle: the user's code, compiled at build time, run in the init phase


class _Source:
    __slots__ = ("code", "filename", "is_package")

    def __init__(self, code, filename, is_package):
        self.code = code
        self.filename = filename
        self.is_package = is_package


class _BundleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves the user's modules from code compiled at build time: the
    component has no filesystem to import them from."""

    def __init__(self, sources, extensions):
        self.sources = sources
        # Extension modules (a package's Rust or C part built for WASI),
        # by module name: componentize-py linked them into the component,
        # and loads one by the path it had at build time.
        self.extensions = extensions

    def find_spec(self, fullname, path=None, target=None):
        extension = self.extensions.get(fullname)
        if extension is not None:
            return importlib.util.spec_from_file_location(fullname, extension)
        source = self.sources.get(fullname)
        if source is None:
            return None
        spec = importlib.util.spec_from_loader(
            fullname, self, origin=source.filename, is_package=source.is_package
        )
        spec.has_location = True
        return spec

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        source = self.sources[module.__name__]
        module.__file__ = source.filename
        if source.is_package:
            module.__path__ = []
        exec(source.code, module.__dict__)

    # The files beside the code are in the function's files, mounted at
    # /var/task: `pkgutil.get_data` and `importlib.resources` read them there.
    def get_data(self, path):
        with open(path, "rb") as file:
            return file.read()

    def get_resource_reader(self, fullname):
        from importlib.resources.readers import FileReader

        source = self.sources.get(fullname)
        if source is None or not source.is_package:
            return None
        # FileReader serves the folder of `path`: a package's __init__.py,
        # or a namespace package's folder itself.
        path = source.filename
        if not path.endswith(".py"):
            path = f"{path}/__init__.py"
        return FileReader(_Located(path))


class _Located:
    """What importlib's FileReader needs of a loader: a path."""

    def __init__(self, path):
        self.path = path


class BuildError(Exception):
    """A problem found at build time, reported by `wasm-lambda build`."""

    def __init__(self, error_type, message):
        super().__init__(f"{BUILD_ERROR_PREFIX}{error_type}: {message}")


# `wasm-lambda build` looks for lines with this prefix in the output.
BUILD_ERROR_PREFIX = "wasm-lambda-build-error: "
# Where the build's warnings are written, beside the build's config module.
WARNINGS_FILE = "wasm_lambda_build_warnings.txt"


def _module_name(relative_path):
    parts = relative_path[: -len(".py")].split("/")
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def _imported_names(tree, module_name, is_package):
    """Absolute names of the modules a module imports, anywhere in it (also
    inside functions: those must be in the snapshot too), each with the line
    of its first import."""
    names = {}
    package = module_name if is_package else module_name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names.setdefault(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            if prefix:
                names.setdefault(prefix, node.lineno)
                for alias in node.names:
                    names.setdefault(f"{prefix}.{alias.name}", node.lineno)
    return names


def _preimport(name):
    """Imports `name` and its parents; None if that worked, else why not:
    `_MISSING` when its top-level package is not there, or the error its
    import raised. A failed import may sit under `try` in the user's code,
    so it only earns a warning."""
    parts = name.split(".")
    for end in range(1, len(parts) + 1):
        prefix = ".".join(parts[:end])
        try:
            importlib.import_module(prefix)
        except BaseException as error:  # noqa: BLE001 - anything a module raises on import
            try:
                found = importlib.util.find_spec(parts[0]) is not None
            except (ImportError, ValueError):
                found = False
            if end > 1 and found:
                # `from package import name` names an attribute as often as
                # a submodule: only the package itself is worth a warning.
                return None
            if not found:
                return _MISSING
            return f"{type(error).__name__}: {error}"
    return None


_MISSING = "missing"


def _split_handler(handler):
    """`path/to/module.function` → (`path.to.module`, `function`)."""
    module_name, _, function_name = handler.rpartition(".")
    return module_name.replace("/", "."), function_name


def _binds(tree, name):
    """Whether a module's top level can define `name` (a def, a class, an
    assignment, an import, or a star import that might)."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name == name:
                return True
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*" or (alias.asname or alias.name.split(".")[0]) == name:
                    return True
        else:
            for child in ast.walk(node):
                if (
                    isinstance(child, ast.Name)
                    and child.id == name
                    and isinstance(child.ctx, ast.Store)
                ):
                    return True
    return False


# `boto3.client("s3")`, `session.resource('dynamodb', ...)`: the services a
# handler names.
_SERVICE_NAME = re.compile(
    r"""\b(?:client|resource)\(\s*(?:service_name\s*=\s*)?["']([a-z0-9-]+)["']"""
)


# True while the load-time init phase runs (`Bundle.init_phase`).
_in_init_phase = False


def _sandbox_credentials():
    """Makes botocore's environment provider answer, during the init phase
    and without credentials in the environment, with credentials read from
    the environment each time they are used.

    The host runs the init phase without the function's credentials and
    snapshots it (each sandbox gets its own credentials): a client made at
    module level would otherwise find none, look for them at the instance
    metadata endpoint, and sign nothing in the sandboxes made from the
    snapshot. Outside that case botocore resolves credentials as it does
    on Lambda, where the environment always holds them."""
    try:
        from botocore import credentials
        from botocore.exceptions import NoCredentialsError
    except ImportError:
        return
    provider = credentials.EnvProvider
    if getattr(provider.load, "_wasm_lambda", False):
        return

    def read(mapping, key):
        names = mapping.get(key)
        for name in [names] if isinstance(names, str) else names or []:
            value = os.environ.get(name)
            if value:
                return value
        return None

    class SandboxCredentials(credentials.Credentials):
        """The sandbox's environment credentials, read when used."""

        def __init__(self, mapping):  # noqa: D107 - no parent state to set up
            self._mapping = mapping
            self.method = provider.METHOD

        access_key = property(lambda self: read(self._mapping, "access_key"))
        secret_key = property(lambda self: read(self._mapping, "secret_key"))
        token = property(lambda self: read(self._mapping, "token"))
        account_id = property(lambda self: read(self._mapping, "account_id"))

        def get_frozen_credentials(self):
            if not self.access_key:
                raise NoCredentialsError()
            frozen = [self.access_key, self.secret_key, self.token]
            # botocore before 1.35 has no account id in its frozen tuple.
            if "account_id" in credentials.ReadOnlyCredentials._fields:
                frozen.append(self.account_id)
            return credentials.ReadOnlyCredentials(*frozen)

    original = provider.load

    def load(self):
        if (
            _in_init_phase
            and self.environ is os.environ
            and not os.environ.get(self._mapping["access_key"])
        ):
            return SandboxCredentials(self._mapping)
        return original(self)

    load._wasm_lambda = True
    provider.load = load


def _warm_boto3(texts):
    """Creates boto3's default session at build time and a client of each
    service the handler's code names, then drops the clients. What that
    loads stays in the snapshot: botocore's parsed models and endpoint rules
    (cached by the session's loader) and the modules client creation imports.
    The handler's own `boto3.client("s3")` then takes milliseconds instead
    of a few hundred. Nothing environment-specific is kept: the clients get
    explicit placeholder credentials and region, and the session resolves
    the real ones (and the endpoint) when the handler makes its client."""
    if "boto3" not in sys.modules:
        return
    services = sorted({name for text in texts for name in _SERVICE_NAME.findall(text)})
    try:
        import boto3

        session = boto3._get_default_session()
        loader = session._session.get_component("data_loader")
        for name in ("endpoints", "partitions", "sdk-default-configuration", "_retry"):
            try:
                loader.load_data(name)
            except Exception:  # noqa: BLE001 - a file this botocore lacks
                pass
        for service in services:
            try:
                factory = session.resource if service in session.get_available_resources() else None
                client = session.client(
                    service,
                    region_name="us-east-1",
                    aws_access_key_id="wasm-lambda-build",
                    aws_secret_access_key="wasm-lambda-build",
                )
                client.close()
                if factory is not None:
                    factory(
                        service,
                        region_name="us-east-1",
                        aws_access_key_id="wasm-lambda-build",
                        aws_secret_access_key="wasm-lambda-build",
                    )
            except Exception:  # noqa: BLE001 - not a service name after all
                pass
    except Exception:  # noqa: BLE001 - warming is an optimisation only
        pass


# Parts of the standard library no handler imports (tests, GUIs, installers).
_STDLIB_SKIPPED = {
    "test",
    "tests",
    "idlelib",
    "tkinter",
    "turtledemo",
    "ensurepip",
    "lib2to3",
    "pydoc_data",
    "__pycache__",
    "site-packages",
    "venv",
    "__phello__",
}


def _copy_stdlib(into):
    """Copies the standard library's modules from where the build sees them
    (`/python`) to `into`, which `wasm-lambda build` packs into the function's
    files, mounted at `/python` again: a module imported only at run time
    (lazily, inside a function) is found there, as on Lambda."""
    # Plain string paths: there is no working folder to resolve against.
    source = json.__file__.rsplit("/", 2)[0]
    for folder, subfolders, files in os.walk(source):
        subfolders[:] = [name for name in subfolders if name not in _STDLIB_SKIPPED]
        target = into + folder[len(source) :]
        # Top-down, parents first (os.makedirs would look at `/`, which the
        # build's sandbox does not have).
        if folder != source:
            os.mkdir(target)
        for name in files:
            if not name.endswith(".py"):
                continue
            with open(os.path.join(folder, name), "rb") as file:
                data = file.read()
            with open(os.path.join(target, name), "wb") as file:
                file.write(data)


def _installed_files(root):
    """The files the packages pip installed into `root` list in their
    `*.dist-info/RECORD`, relative to `root`."""
    files = set()
    for entry in os.listdir(root):
        if not entry.endswith(".dist-info"):
            continue
        try:
            with open(os.path.join(root, entry, "RECORD"), encoding="utf-8") as record:
                for line in record:
                    path = line.split(",", 1)[0]
                    if path and not path.startswith(".."):
                        files.add(path)
        except OSError:
            continue
    return files


class Bundle:
    """The user's handler module and its local modules, compiled."""

    def __init__(self, module_name, function_name):
        self.module_name = module_name
        self.function_name = function_name
        self.function = None

    @classmethod
    def from_build(cls):
        config = importlib.import_module(CONFIG_MODULE)
        root = os.path.dirname(os.path.abspath(config.__file__))
        module_name, function_name = _split_handler(config.HANDLER)
        sources = {}
        imports = {}
        texts = []
        installed = _installed_files(root)
        for relative_path in config.SOURCES:
            name, is_package = _module_name(relative_path)
            filename = f"{TASK_ROOT}/{relative_path}"
            with open(os.path.join(root, relative_path), encoding="utf-8") as file:
                text = file.read()
            # Stack traces show source lines; there are no files at run
            # time, so the lines are kept in linecache (mtime None: never
            # checked against a file).
            texts.append(text)
            lines = text.splitlines(keepends=True)
            linecache.cache[filename] = (len(text), None, lines, filename)
            try:
                tree = ast.parse(text, filename)
            except SyntaxError as error:
                raise BuildError(
                    "Runtime.UserCodeSyntaxError",
                    f"Syntax error in module '{name}': {error}",
                ) from None
            if name == module_name and not _binds(tree, function_name):
                raise BuildError(
                    "Runtime.HandlerNotFound",
                    f"Handler '{function_name}' missing on module '{module_name}'",
                )
            sources[name] = _Source(compile(tree, filename, "exec"), filename, is_package)
            # Packages pip installed into the folder import their optional
            # dependencies as they see fit; only the function's own code
            # is warned about.
            if relative_path in installed:
                continue
            for imported, line in _imported_names(tree, name, is_package).items():
                imports.setdefault(imported, (relative_path, line))
        # Folders without __init__.py are namespace packages, as Lambda's
        # Python imports them (a handler of `src.app.handler` in `src/`).
        for name in list(sources):
            parts = name.split(".")
            for end in range(1, len(parts)):
                parent = ".".join(parts[:end])
                if parent not in sources:
                    folder = f"{TASK_ROOT}/{parent.replace('.', '/')}"
                    sources[parent] = _Source(compile("", folder, "exec"), folder, True)
        if module_name not in sources:
            raise BuildError(
                "Runtime.ImportModuleError",
                f"Unable to import module '{module_name}': No module named '{module_name}'",
            )
        extensions = {}
        for relative_path in getattr(config, "EXTENSIONS", ()):
            folder, _, file_name = relative_path.rpartition("/")
            name = ".".join(filter(None, [*folder.split("/"), file_name.split(".")[0]]))
            extensions[name] = os.path.join(root, relative_path)
        local = {name.split(".")[0] for name in sources}
        warnings = []
        for name in sorted(imports):
            if name.split(".")[0] in local:
                continue
            problem = _preimport(name)
            if problem is None:
                continue
            path, line = imports[name]
            if problem is _MISSING:
                warnings.append(
                    f"cannot import {name} ({path}, line {line}): it will be missing at run time"
                )
            else:
                # The package is there: say what its import raised rather
                # than call it missing.
                warnings.append(
                    f"importing {name} ({path}, line {line}) raised {problem}: "
                    "it will fail the same way at run time"
                )
        # Packages taken from their Linux wheels without their compiled part
        # (the build lists them) must import without it, whether or not the
        # function's code names them (pydantic imports its core lazily).
        for name in getattr(config, "REPACKED", ()):
            problem = _preimport(name)
            if problem is not None and problem is not _MISSING:
                warnings.append(
                    f"importing {name} (requirements.txt) raised {problem}: "
                    "it will fail the same way at run time"
                )
        # componentize-py passes on neither stdout nor stderr while it
        # snapshots, so the warnings go to a file `wasm-lambda build` reads.
        try:
            with open(os.path.join(root, WARNINGS_FILE), "w", encoding="utf-8") as file:
                file.write("".join(f"{warning}\n" for warning in warnings))
        except OSError:
            pass
        for name in _RUNTIME_MODULES:
            importlib.import_module(name)
        _warm_boto3(texts)
        stdlib_copy = getattr(config, "STDLIB_COPY", None)
        if stdlib_copy:
            _copy_stdlib(stdlib_copy)
        sys.meta_path.insert(0, _BundleFinder(sources, extensions))
        _Output.install()
        _setup_logging()
        return cls(module_name, function_name)

    def load_handler(self):
        """Imports the handler's module (running its top-level code, as
        Lambda's init phase does) and finds the function. Raises Failure."""
        if self.function is not None:
            return self.function
        module_name, function_name = self.module_name, self.function_name
        try:
            module = importlib.import_module(module_name)
        except Exception as error:  # noqa: BLE001 - reported as Lambda does
            raise Failure(
                "Runtime.ImportModuleError",
                f"Unable to import module '{module_name}': {error}",
                [],
            ) from None
        function = getattr(module, function_name, None)
        if function is None:
            raise Failure(
                "Runtime.HandlerNotFound",
                f"Handler '{function_name}' missing on module '{module_name}'",
                [],
            )
        self.function = function
        return function

    def init_phase(self):
        """Runs the init phase ahead of the first call, when the host loads
        the function (the `init` export): imports the handler's module with
        stdout and stderr kept in memory, since the host snapshots the
        instance afterwards and a snapshot cannot keep a stream open.
        Returns what the init phase printed; raises Failure."""
        global _in_init_phase
        printed = io.StringIO()
        _Output.capture_into(printed)
        _read_log_settings()
        if "botocore" in sys.modules:
            _sandbox_credentials()
        _in_init_phase = True
        try:
            self.load_handler()
        finally:
            _in_init_phase = False
            _Output.capture_into(None)
        return printed.getvalue()


class _Output:
    """`sys.stdout` and `sys.stderr` from the build on: the interpreter's
    streams, except while the load-time init phase runs, when what is
    written is kept in memory. Code that keeps a reference to `sys.stdout`
    at module level (a logging handler, Powertools' Logger) holds this
    object, so it writes to the real stream again once the init phase ends.
    Everything else is the real stream's."""

    _capture = None

    def __init__(self, stream):
        self._stream = stream

    @classmethod
    def install(cls):
        if not isinstance(sys.stdout, cls):
            sys.stdout = cls(sys.stdout)
            sys.stderr = cls(sys.stderr)

    @classmethod
    def capture_into(cls, buffer):
        cls._capture = buffer

    def write(self, text):
        if _Output._capture is not None:
            return _Output._capture.write(text)
        return self._stream.write(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        if _Output._capture is None:
            self._stream.flush()

    def __getattr__(self, name):
        return getattr(self._stream, name)


# ---------------------------------------------------------------------------
# Invocation

# True until the first call of this sandbox; a snapshot taken after the
# init phase keeps it True, so every sandbox made from it sees it.
_fresh = True


def _start_sandbox():
    """What differs between sandboxes started from one snapshot: the
    environment (the log stream, the trace id) and the random seed."""
    environment = dict(host_runtime.environment())
    for name in [name for name in os.environ if name not in environment]:
        del os.environ[name]
    for name, value in environment.items():
        if os.environ.get(name) != value:
            os.environ[name] = value
    random = sys.modules.get("random")
    if random is not None:
        random.seed()
    _read_log_settings()


class Failure(Exception):
    """An error to hand back to the host as the world's `handler-error`."""

    def __init__(self, error_type, error_message, stack_trace):
        super().__init__(error_message)
        self.error_type = error_type
        self.error_message = error_message
        self.stack_trace = stack_trace


def _default(value):
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def marshal(result):
    """The response payload as Lambda's Python runtime writes it."""
    if isinstance(result, (bytes, bytearray)):
        try:
            return bytes(result).decode("utf-8")
        except UnicodeDecodeError as error:
            raise Failure(
                "Runtime.MarshalError", f"Unable to marshal response: {error}", []
            ) from None
    try:
        return json.dumps(result, ensure_ascii=False, default=_default)
    except (TypeError, ValueError) as error:
        raise Failure("Runtime.MarshalError", f"Unable to marshal response: {error}", []) from None


def _user_frames(tb):
    """The traceback without this runtime's own frames, as Lambda strips its
    bootstrap's."""
    frames = traceback.extract_tb(tb)
    for index, frame in enumerate(frames):
        if not frame.filename.endswith("wasm_lambda_runtime.py"):
            return traceback.format_list(frames[index:])
    return traceback.format_list(frames)


def _log_error(failure):
    if _json_logs:
        # Lambda's record for an unhandled error, with `level` as the
        # platform's level filter reads it.
        record = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "level": "ERROR",
            "errorMessage": failure.error_message,
            "errorType": failure.error_type,
            "requestId": _request_id,
            "stackTrace": failure.stack_trace,
        }
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        return
    sys.stdout.write(
        f"[ERROR] {failure.error_type}: {failure.error_message}\n"
        "Traceback (most recent call last):\n" + "".join(failure.stack_trace)
    )
    sys.stdout.flush()


def invoke(bundle, event_text, context):
    """Runs the handler once; returns the payload text or a Failure."""
    global _request_id, _tenant_id, _fresh
    _request_id = context.aws_request_id
    _tenant_id = context.tenant_id
    if _fresh:
        _fresh = False
        _start_sandbox()
    # Each invocation's own trace header, as Lambda's runtime sets it: a
    # reused sandbox must not keep the first invocation's.
    if context.trace_id is None:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    elif os.environ.get("_X_AMZN_TRACE_ID") != context.trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = context.trace_id
    try:
        function = bundle.load_handler()
        event = json.loads(event_text)
        result = function(event, LambdaContext(context))
        return marshal(result)
    except Failure as failure:
        _log_error(failure)
        return failure
    except Exception as error:  # noqa: BLE001 - every handler error is reported
        failure = Failure(type(error).__name__, str(error), _user_frames(error.__traceback__))
        _log_error(failure)
        return failure
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
