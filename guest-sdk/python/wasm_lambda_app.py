"""The component's entry point: implements the `handler` world for a Lambda
Python handler module.

componentize-py runs this module's top-level code at build time and
snapshots the interpreter. The user's code is *not* run then: it is compiled
and kept in memory, and runs in the init phase, with the function's real
environment (`os.environ`), not the build machine's: once when the host
loads the function (`init`, after which the host snapshots the instance), or
at the first invocation of each instance when the host could not keep that
snapshot.
"""

import sys

# The Python inside has no `_ssl`: an `ssl` module of the SDK's stands in
# (TLS is the host's), before anything imports http.client or urllib3.
try:
    import ssl  # noqa: F401
except ImportError:
    import wasm_lambda_ssl

    sys.modules["ssl"] = wasm_lambda_ssl

import os

# WASI has no users, so `os.getuid` and its siblings are missing, and
# modules that import them by name (setuptools' `pkg_resources`, tempfile
# helpers) fail to import. Lambda runs a function as sbx_user1051: its ids.
for _name, _value in (("getuid", 993), ("geteuid", 993), ("getgid", 990), ("getegid", 990)):
    if not hasattr(os, _name):
        setattr(os, _name, lambda _value=_value: _value)

import wasm_lambda_http  # noqa: E402

# http.client, urllib3 and botocore send their requests through the host.
wasm_lambda_http.install()

import wasm_lambda_threads  # noqa: E402

# Threads and thread pools run on the component's one thread.
wasm_lambda_threads.install()

import wit_world  # noqa: E402
from componentize_py_types import Err  # noqa: E402

import wasm_lambda_runtime as runtime  # noqa: E402

# Loads the build's configuration and the bundled sources, and imports every
# module they need from the standard library and the dependencies.
_bundle = runtime.Bundle.from_build()


class WitWorld(wit_world.WitWorld):
    def init(self) -> str:
        try:
            return _bundle.init_phase()
        except runtime.Failure as failure:
            raise Err(f"{failure.error_type}: {failure.error_message}") from None

    def handle(self, event: str, context: wit_world.Context) -> str:
        outcome = runtime.invoke(_bundle, event, context)
        if isinstance(outcome, runtime.Failure):
            raise Err(
                wit_world.HandlerError(
                    error_type=outcome.error_type,
                    error_message=outcome.error_message,
                    stack_trace=outcome.stack_trace,
                )
            )
        return outcome
