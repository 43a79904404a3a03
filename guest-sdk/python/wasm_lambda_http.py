"""HTTP for handlers, over `wasi:http`.

A component has no sockets of its own that reach the network, and no TLS
library: the host makes each connection, checks it against the function's
outbound grants and does the TLS. This module speaks to the host through
`wasi:http/outgoing-handler`, and points the HTTP clients handlers use at it:

- `http.client` (and so `urllib.request`): a connection's socket is replaced
  by an `_Exchange`, which collects the HTTP/1.1 request `http.client`
  writes, sends it through the host once it is complete, and hands back the
  response as bytes for `http.client` to parse as usual;
- `urllib3` (and so `requests` and botocore): its connection classes get the
  same stand-in socket when they connect;
- botocore: `Expect: 100-continue` is not sent (there is no socket to wait
  on; the host sends the body at once).

A request the grants refuse raises `ConnectionRefusedError` from
`http.client` and urllib3's `NewConnectionError` from urllib3, so
`urllib.error.URLError`, `requests.exceptions.ConnectionError` and botocore's
`EndpointConnectionError` reach the handler as they would on Lambda.
"""

import errno
import http
import io
import sys

from componentize_py_types import Err
from wit_world.imports import outgoing_handler, streams, types

_METHODS = {
    "GET": types.Method_Get,
    "HEAD": types.Method_Head,
    "POST": types.Method_Post,
    "PUT": types.Method_Put,
    "DELETE": types.Method_Delete,
    "CONNECT": types.Method_Connect,
    "OPTIONS": types.Method_Options,
    "TRACE": types.Method_Trace,
    "PATCH": types.Method_Patch,
}
# Headers the host sets itself (`wasi:http` refuses them from a guest).
_HOP_BY_HOP = {
    "connection",
    "host",
    "http2-settings",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "expect",
}
# `blocking-write-and-flush` takes at most 4096 bytes at a time.
_WRITE_CHUNK = 4096
_READ_CHUNK = 64 * 1024


class RequestRefused(ConnectionRefusedError):
    """The host refused the request: its destination is not granted."""


def _error_for(code, url):
    """The OSError a socket-based client would have seen for `code`."""
    name = type(code).__name__.removeprefix("ErrorCode_")
    detail = getattr(code, "value", None)
    if name == "HttpRequestDenied":
        return RequestRefused(
            errno.ECONNREFUSED,
            f"{url}: not allowed by the function's outbound grants "
            "(see the log for the grant to add)",
        )
    if name in (
        "ConnectionTimeout",
        "ConnectionReadTimeout",
        "ConnectionWriteTimeout",
        "HttpResponseTimeout",
        "DnsTimeout",
    ):
        return TimeoutError(errno.ETIMEDOUT, f"{url}: timed out ({name})")
    if name in ("DnsError", "DestinationNotFound"):
        return ConnectionError(errno.EHOSTUNREACH, f"{url}: name not resolved ({name})")
    if name == "ConnectionRefused":
        return ConnectionRefusedError(errno.ECONNREFUSED, f"{url}: connection refused")
    suffix = f": {detail}" if detail is not None else ""
    return ConnectionError(errno.ECONNRESET, f"{url}: {name}{suffix}")


def send(method, scheme, authority, path, headers, body=b"", timeout=None):
    """Sends one request through the host; returns `(status, headers, body)`
    with headers as `(name, bytes)` pairs and the whole body read. Raises an
    `OSError` subclass when no response arrives."""
    url = f"{scheme}://{authority}{path}"
    fields = []
    for name, value in headers:
        if name.lower() in _HOP_BY_HOP:
            continue
        if isinstance(value, str):
            value = value.encode("latin-1")
        fields.append((name.lower(), value))
    try:
        request = types.OutgoingRequest(types.Fields.from_list(fields))
    except Err as error:
        raise ValueError(f"{url}: a header is not valid HTTP: {error.value}") from None
    method_type = _METHODS.get(method.upper())
    request.set_method(method_type() if method_type else types.Method_Other(method))
    request.set_scheme(types.Scheme_Https() if scheme == "https" else types.Scheme_Http())
    request.set_authority(authority)
    request.set_path_with_query(path or "/")
    outgoing_body = request.body()
    options = None
    if timeout is not None and timeout > 0:
        nanoseconds = int(timeout * 1e9)
        options = types.RequestOptions()
        options.set_connect_timeout(nanoseconds)
        options.set_first_byte_timeout(nanoseconds)
        options.set_between_bytes_timeout(nanoseconds)
    try:
        future = outgoing_handler.handle(request, options)
    except Err as error:
        raise _error_for(error.value, url) from None
    stream = outgoing_body.write()
    try:
        view = memoryview(body or b"")
        for start in range(0, len(view), _WRITE_CHUNK):
            stream.blocking_write_and_flush(bytes(view[start : start + _WRITE_CHUNK]))
    except Err:
        # The host stopped reading: the response (or its error) says why.
        pass
    finally:
        stream.__exit__(None, None, None)
    types.OutgoingBody.finish(outgoing_body, None)

    with future.subscribe() as ready:
        ready.block()
    # option<result<result<incoming-response, error-code>>>
    outcome = future.get()
    future.__exit__(None, None, None)
    if outcome is None or isinstance(outcome, Err):
        raise ConnectionError(errno.ECONNRESET, f"{url}: no response")
    if isinstance(outcome.value, Err):
        raise _error_for(outcome.value.value, url)
    response = outcome.value.value
    status = response.status()
    with response.headers() as response_headers:
        header_list = response_headers.entries()
    incoming = response.consume()
    body_stream = incoming.stream()
    chunks = []
    try:
        while True:
            try:
                chunks.append(body_stream.blocking_read(_READ_CHUNK))
            except Err as error:
                if isinstance(error.value, streams.StreamError_Closed):
                    break
                raise ConnectionError(errno.ECONNRESET, f"{url}: the response broke off") from None
    finally:
        body_stream.__exit__(None, None, None)
        incoming.__exit__(None, None, None)
        response.__exit__(None, None, None)
    return status, header_list, b"".join(chunks)


# ---------------------------------------------------------------------------
# A stand-in socket for http.client


def _request_complete(data):
    """Whether `data` holds a whole HTTP/1.1 request; returns the header
    block's end and the body (de-chunked) when it does, else None."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = data[:end].decode("latin-1").split("\r\n")
    rest = data[end + 4 :]
    length = None
    chunked = False
    for line in head[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        body = bytearray()
        position = 0
        while True:
            line_end = rest.find(b"\r\n", position)
            if line_end < 0:
                return None
            size = int(rest[position:line_end].split(b";")[0].strip() or b"0", 16)
            start = line_end + 2
            if size == 0:
                if rest.find(b"\r\n", start) < 0:
                    return None
                return head, bytes(body)
            if len(rest) < start + size + 2:
                return None
            body += rest[start : start + size]
            position = start + size + 2
    length = length or 0
    if len(rest) < length:
        return None
    return head, rest[:length]


class _Exchange:
    """Stands in for the socket of an HTTP connection: collects the request
    the client writes and, once it is whole, sends it through the host; the
    response is read back through `makefile`, as from a socket."""

    def __init__(self, scheme, host, port, timeout=None):
        self.scheme = scheme
        self.host = host
        self.port = port
        self.timeout = timeout if isinstance(timeout, (int, float)) else None
        self._sent = bytearray()
        self._responses = []

    def _authority(self, host_header):
        default = 443 if self.scheme == "https" else 80
        own = self.host if self.port in (None, default) else f"{self.host}:{self.port}"
        # The Host header is what a signature (SigV4) covers; keep it when it
        # names the host connected to.
        if host_header and host_header.split(":")[0].strip("[]") == self.host.strip("[]"):
            return host_header
        return own

    def sendall(self, data):
        self._sent += data
        parsed = _request_complete(bytes(self._sent))
        if parsed is None:
            return
        head, body = parsed
        self._sent.clear()
        method, target, _ = (head[0].split(" ", 2) + ["", ""])[:3]
        headers = []
        host_header = None
        for line in head[1:]:
            name, _, value = line.partition(":")
            value = value.strip()
            if name.strip().lower() == "host":
                host_header = value
            headers.append((name.strip(), value))
        if target.startswith(("http://", "https://")):
            # A proxy-style absolute target.
            target = "/" + target.split("://", 1)[1].partition("/")[2]
        status, response_headers, response_body = send(
            method,
            self.scheme,
            self._authority(host_header),
            target,
            headers,
            body,
            self.timeout,
        )
        lines = [f"HTTP/1.1 {status} {_reason(status)}\r\n".encode("latin-1")]
        for name, value in response_headers:
            if name.lower() not in ("content-length", "transfer-encoding"):
                lines.append(name.encode("latin-1") + b": " + value + b"\r\n")
        # The body is whole here; a HEAD answer has none and keeps the
        # server's Content-Length (the GET's).
        length = str(len(response_body)).encode("latin-1")
        if method.upper() == "HEAD":
            length = next(
                (value for name, value in response_headers if name.lower() == "content-length"),
                length,
            )
        lines.append(b"Content-Length: " + length + b"\r\n\r\n")
        self._responses.append(b"".join(lines) + response_body)

    send = sendall

    def makefile(self, mode="rb", *args, **kwargs):
        if not self._responses:
            raise ConnectionError(errno.ENOTCONN, "no request was sent")
        return io.BytesIO(self._responses.pop(0))

    def settimeout(self, timeout):
        if isinstance(timeout, (int, float)) or timeout is None:
            self.timeout = timeout

    def gettimeout(self):
        return self.timeout

    def setsockopt(self, *args):
        pass

    def shutdown(self, how=None):
        pass

    def close(self):
        self._sent.clear()


def _reason(status):
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


# ---------------------------------------------------------------------------
# Pointing the clients at it


def _patch_http_client():
    import importlib
    import http.client

    if not hasattr(http.client, "HTTPSConnection"):
        # Imported before `ssl` could be: define HTTPSConnection now.
        importlib.reload(http.client)

    def connect(self):
        self.sock = _Exchange("http", self.host, self.port, self.timeout)

    def connect_tls(self):
        self.sock = _Exchange("https", self.host, self.port, self.timeout)

    http.client.HTTPConnection.connect = connect
    if hasattr(http.client, "HTTPSConnection"):
        http.client.HTTPSConnection.connect = connect_tls


def _patch_urllib3(module):
    from urllib3 import connection, exceptions

    def connect(self):
        scheme = "https" if isinstance(self, connection.HTTPSConnection) else "http"
        self.sock = _Exchange(scheme, self.host, self.port, self.timeout)
        if scheme == "https":
            # The host verified the certificate (it never skips that).
            self.is_verified = True
            self.proxy_is_verified = None
        self._has_connected_to_proxy = False

    original_request = connection.HTTPConnection.request

    def request(self, *args, **kwargs):
        try:
            return original_request(self, *args, **kwargs)
        except TimeoutError as error:
            raise exceptions.ConnectTimeoutError(self, str(error)) from error
        except ConnectionError as error:
            raise exceptions.NewConnectionError(
                self, f"Failed to establish a new connection: {error}"
            ) from error

    connection.HTTPConnection.connect = connect
    connection.HTTPSConnection.connect = connect
    connection.HTTPConnection.request = request
    connection.HTTPConnection.is_connected = property(lambda self: self.sock is not None)


def _patch_urllib3_pool(module):
    # urllib3 1.x (which older botocore pins) asks `select` whether a pooled
    # connection's socket was dropped; an exchange has no file descriptor,
    # and is reusable as long as it is there, as urllib3 2's
    # `is_connected` (above) says.
    original = getattr(module, "is_connection_dropped", None)
    if original is None:
        return

    def is_connection_dropped(conn):
        if isinstance(getattr(conn, "sock", None), _Exchange):
            return False
        return original(conn)

    module.is_connection_dropped = is_connection_dropped


def _without_expect(original):
    def send(self, method, url, body=None, headers=None, *args, **kwargs):
        if headers is not None:
            headers = {
                name: value for name, value in headers.items() if str(name).lower() != "expect"
            }
        return original(self, method, url, body, headers, *args, **kwargs)

    return send


def _patch_botocore_awsrequest(module):
    # botocore looks for `Expect: 100-continue` in `AWSConnection.request`
    # in current versions and in `_send_request` in older ones (such as the
    # one boto3 1.26 pins): whichever of them the class defines drops the
    # header first.
    for name in ("request", "_send_request"):
        original = module.AWSConnection.__dict__.get(name)
        if original is not None:
            setattr(module.AWSConnection, name, _without_expect(original))


# Patches applied when a module is first imported (or now, if it is loaded).
_AFTER_IMPORT = {
    "urllib3.connection": _patch_urllib3,
    "urllib3.connectionpool": _patch_urllib3_pool,
    "botocore.awsrequest": _patch_botocore_awsrequest,
}


class _AfterImport:
    """A meta path finder that runs a patch once a module has loaded."""

    def find_spec(self, fullname, path=None, target=None):
        patch = _AFTER_IMPORT.get(fullname)
        if patch is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                loader = spec.loader
                exec_module = loader.exec_module

                class Patched:
                    def __getattr__(self, name):
                        return getattr(loader, name)

                    def create_module(self, spec):
                        return loader.create_module(spec)

                    def exec_module(self, module):
                        exec_module(module)
                        patch(module)

                spec.loader = Patched()
                return spec
        return None


def install():
    """Points http.client, urllib3 and botocore at the host. Idempotent."""
    if getattr(install, "done", False):
        return
    install.done = True
    _patch_http_client()
    for name, patch in _AFTER_IMPORT.items():
        if name in sys.modules:
            patch(sys.modules[name])
    sys.meta_path.insert(0, _AfterImport())
