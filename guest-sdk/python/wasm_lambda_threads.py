"""Threads for handlers on the one thread a component has.

WASI gives a component no threads, so CPython's `threading.Thread.start()`
raises `RuntimeError: can't start new thread`. Published handlers start
threads in two shapes, both of which finish without needing a second
thread to run at the same time:

- a pool: `concurrent.futures.ThreadPoolExecutor` (boto3's `upload_file`
  and `download_file` through s3transfer, a pool of HTTP calls). Here a
  submitted call runs at once, inside `submit`, and its future is returned
  done, as s3transfer's own `NonThreadedExecutor` does; results and
  exceptions reach the caller through the future as before.
- threads that are started and then joined: `start()` runs the thread's
  `run()` to its end, and `join()` returns at once.

A thread that waits for another thread to do something (a worker blocking
on an empty queue that a later thread fills) waits forever here, until the
invocation's timeout: docs/python.md says so.
"""

import concurrent.futures
import concurrent.futures.thread
import sys
import threading

_start = threading.Thread.start
_join = threading.Thread.join
_is_alive = threading.Thread.is_alive


def _start_here(self):
    try:
        return _start(self)
    except RuntimeError as error:
        if "can't start new thread" not in str(error):
            raise
    # No thread could start: run it now, on this one.
    self._started.set()
    try:
        self.run()
    except SystemExit:
        pass
    except BaseException:  # noqa: BLE001 - reported as Python reports a thread's error
        threading.excepthook(threading.ExceptHookArgs([*sys.exc_info(), self]))
    finally:
        self._wasm_lambda_done = True


def _join_here(self, timeout=None):
    if getattr(self, "_wasm_lambda_done", False):
        return None
    return _join(self, timeout)


def _is_alive_here(self):
    if getattr(self, "_wasm_lambda_done", False):
        return False
    return _is_alive(self)


def _submit_here(self, fn, /, *args, **kwargs):
    with self._shutdown_lock:
        if self._broken:
            raise concurrent.futures.thread.BrokenThreadPool(self._broken)
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
    future = concurrent.futures.Future()
    if not future.set_running_or_notify_cancel():
        return future
    try:
        result = fn(*args, **kwargs)
    except BaseException as error:  # noqa: BLE001 - the future carries it, as a pool's does
        future.set_exception(error)
    else:
        future.set_result(result)
    return future


def install():
    """Makes threads and thread pools run on the one thread. Idempotent."""
    threading.Thread.start = _start_here
    threading.Thread.join = _join_here
    threading.Thread.is_alive = _is_alive_here
    concurrent.futures.ThreadPoolExecutor.submit = _submit_here
