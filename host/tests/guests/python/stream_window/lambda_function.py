"""A tumbling-window aggregator in the shape published ones take: each
invocation adds its Kinesis records to the window's state (a count, a sum
and a count per partition key) and returns the state for the next
invocation; the window's last invocation (isFinalInvokeForWindow) reports
the totals. Every invocation prints one line, and one more for a record
whose arrival lies outside the event's window, for the tests to read in
the server's log."""

import base64
import json
from datetime import datetime


def seconds(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def lambda_handler(event, context):
    window = event["window"]
    start, end = seconds(window["start"]), seconds(window["end"])
    state = event["state"] or {}
    for record in event["Records"]:
        data = json.loads(base64.b64decode(record["kinesis"]["data"]))
        arrival = record["kinesis"]["approximateArrivalTimestamp"]
        if not start <= arrival < end:
            print(f"outside n={data['n']} arrival={arrival} window={window}")
        state["count"] = state.get("count", 0) + 1
        state["sum"] = state.get("sum", 0) + data["n"]
        keys = state.setdefault("keys", {})
        key = record["kinesis"]["partitionKey"]
        keys[key] = keys.get(key, 0) + 1
    final = event["isFinalInvokeForWindow"]
    print(
        f"window start={window['start']} end={window['end']} records={len(event['Records'])} "
        f"final={final} early={event['isWindowTerminatedEarly']} shard={event['shardId']}"
    )
    if final:
        print(
            f"window total start={window['start']} end={window['end']} "
            f"count={state.get('count', 0)} sum={state.get('sum', 0)}"
        )
        return {"state": {}}
    return {"state": state, "batchItemFailures": []}
