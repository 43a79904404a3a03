"""One HTTP request with Python's http.client, as a browser-less user would
make it, printed as JSON for the Rust tests to check.

    python http_client.py URL METHOD [HEADER:VALUE ...] [--body-base64 B64] [--chunks]

With --chunks the body is read as it arrives: "chunks" lists each piece
with the seconds since the request when it came, and "complete" says
whether the response ended properly (a streamed response that failed is
cut short).
"""

import base64
import http.client
import json
import sys
import time
import urllib.parse


def main():
    url, method, *rest = sys.argv[1:]
    body = None
    chunks = None
    headers = []
    while rest:
        item = rest.pop(0)
        if item == "--body-base64":
            body = base64.b64decode(rest.pop(0))
        elif item == "--chunks":
            chunks = []
        else:
            name, value = item.split(":", 1)
            headers.append((name, value))
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    target = parts.path + ("?" + parts.query if parts.query else "")
    connection.putrequest(method, target)
    for name, value in headers:
        connection.putheader(name, value)
    if body is not None:
        connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    started = time.monotonic()
    response = connection.getresponse()
    complete = True
    if chunks is None:
        payload = response.read()
    else:
        payload = b""
        try:
            while piece := response.read1(65536):
                chunks.append({"data": piece.decode("utf-8", "replace"),
                               "at": round(time.monotonic() - started, 3)})
                payload += piece
        except http.client.IncompleteRead:
            complete = False
    answer = {
        "status": response.status,
        "headers": [[name.lower(), value] for name, value in response.getheaders()],
        "body": payload.decode("utf-8", "replace"),
        "body_base64": base64.b64encode(payload).decode(),
    }
    if chunks is not None:
        answer["chunks"] = chunks
        answer["complete"] = complete
    print(json.dumps(answer))


main()
