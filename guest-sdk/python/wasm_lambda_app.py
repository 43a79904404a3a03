"""The component's entry point: implements the `handler` world for a Lambda
Python handler module.

componentize-py runs this module's top-level code at build time and
snapshots the interpreter. The user's code is *not* run then: it is compiled
and kept in memory, and runs at the first invocation of each instance, the way
Lambda runs a module's top-level code in the init phase: with the
invocation's real environment (`os.environ`), not the build machine's.
"""

import sys

# The Python inside has no `_ssl`: an `ssl` module of the SDK's stands in
# (TLS is the host's), before anything imports http.client or urllib3.
try:
    import ssl  # noqa: F401
except ImportError:
    import wasm_lambda_ssl

    sys.modules["ssl"] = wasm_lambda_ssl

import wasm_lambda_http

# http.client, urllib3 and botocore send their requests through the host.
wasm_lambda_http.install()

import wit_world  # noqa: E402
from componentize_py_types import Err  # noqa: E402

import wasm_lambda_runtime as runtime  # noqa: E402

# Loads the build's configuration and the bundled sources, and imports every
# module they need from the standard library and the dependencies.
_bundle = runtime.Bundle.from_build()


class WitWorld(wit_world.WitWorld):
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
