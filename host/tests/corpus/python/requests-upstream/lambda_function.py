import os

import requests

API = os.environ["UPSTREAM_URL"]
session = requests.Session()
session.headers.update({"User-Agent": "corpus-requests/1.0"})


def lambda_handler(event, context):
    response = session.get(f"{API}/users/{event['user']}", params={"fields": "name"}, timeout=5)
    response.raise_for_status()
    echoed = response.json()
    created = requests.post(f"{API}/audit", json={"user": event["user"]}, timeout=5)
    return {
        "status": response.status_code,
        "path": echoed["path"],
        "agent": echoed["headers"].get("user-agent"),
        "auditMethod": created.json()["method"],
        "auditBody": created.json()["body"],
    }
