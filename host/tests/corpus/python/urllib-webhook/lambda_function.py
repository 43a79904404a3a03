import json
import os
import urllib.error
import urllib.request

WEBHOOK_URL = os.environ["WEBHOOK_URL"]


def lambda_handler(event, context):
    message = {"text": f"Alarm {event['detail']['alarmName']} is {event['detail']['state']['value']}"}
    request = urllib.request.Request(
        WEBHOOK_URL + "/hooks/alerts",
        data=json.dumps(message).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            answer = json.loads(response.read())
            return {"delivered": response.status == 200, "echo": json.loads(answer["body"])}
    except urllib.error.URLError as error:
        return {"delivered": False, "reason": str(error.reason)}
