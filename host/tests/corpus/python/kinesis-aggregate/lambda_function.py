import base64
import json
from collections import Counter


def lambda_handler(event, context):
    totals = Counter()
    for record in event["Records"]:
        payload = json.loads(base64.b64decode(record["kinesis"]["data"]).decode("utf-8"))
        totals[payload["sensor"]] += payload["reading"]
    print(f"Successfully processed {len(event['Records'])} records.")
    return {"records": len(event["Records"]), "totals": dict(sorted(totals.items()))}
