import logging
from datetime import datetime, timezone

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)


def handler(event, context):
    fired = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    age = datetime.now(timezone.utc) - fired
    logger.info("rule %s fired at %s", event["resources"][0].split("/")[-1], fired.isoformat())
    return {
        "source": event["source"],
        "detailType": event["detail-type"],
        "weekday": fired.strftime("%A"),
        "late": age.total_seconds() > 0,
        "remainingMs": context.get_remaining_time_in_millis() > 0,
    }
