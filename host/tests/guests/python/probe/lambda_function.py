"""A Python handler for the host's tests: the event's "action" picks what it
reports or how it fails."""

import decimal
import json
import logging
import os
import random
import time
import uuid

import helper
import six

# Read at module level: must be the invocation's environment, not the build's.
MODULE_REGION = os.environ.get("AWS_REGION")
MODULE_SETTING = os.environ.get("PROBE_SETTING")
# Made once per init phase: with the load-time snapshot, every sandbox of a
# loaded function shares it.
INIT_ID = str(uuid.uuid4())
print(f"probe init {INIT_ID}")

logger = logging.getLogger(__name__)


def lambda_handler(event, context):
    action = event.get("action") if isinstance(event, dict) else "echo"
    if action == "echo":
        return event
    if action == "context":
        first = context.get_remaining_time_in_millis()
        time.sleep(0.03)
        second = context.get_remaining_time_in_millis()
        client = context.client_context
        return {
            "aws_request_id": context.aws_request_id,
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "identity": [
                context.identity.cognito_identity_id,
                context.identity.cognito_identity_pool_id,
            ],
            "client_context": None
            if client is None
            else {
                "app_title": client.client.app_title,
                "installation_id": client.client.installation_id,
                "custom": client.custom,
                "env": client.env,
            },
            "tenant_id": context.tenant_id,
            "remaining": [first, second],
        }
    if action == "env":
        return dict(os.environ)
    if action == "module_env":
        return {"module": MODULE_REGION, "now": os.environ.get("AWS_REGION")}
    if action == "log":
        print("printed line")
        logging.info("info line")
        logging.debug("debug line")
        logger.warning("warning line")
        return "logged"
    if action == "json_log":
        # Lambda's JSON records of `logging`, with a raw JSON record of each
        # side of the level and a plain print.
        print("printed line")
        print(json.dumps({"level": "DEBUG", "message": "raw debug record"}))
        print(json.dumps({"level": "ERROR", "message": "raw error record"}))
        logging.info("info line %s", 1)
        logging.debug("debug line")
        logger.warning("warning line", extra={"order": 7})
        try:
            helper.fail("caught value")
        except ValueError:
            logger.exception("caught")
        return "logged"
    if action == "init":
        return {
            "init_id": INIT_ID,
            "module_setting": MODULE_SETTING,
            "random": random.random(),
            "stream": os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME"),
        }
    if action == "none":
        return None
    if action == "marshal":
        return {1, 2}
    if action == "decimal":
        return {"price": decimal.Decimal("1.5")}
    if action == "unicode":
        return {"text": "café ☕"}
    if action == "bytes":
        return b"raw bytes"
    if action == "raise":
        return helper.fail("bad value")
    if action == "lazy_import":
        import uuid

        return str(uuid.UUID(int=1))
    if action == "helper":
        return helper.greet(event["name"])
    if action == "dependency":
        return six.__version__
    if action == "json":
        return json.loads('{"a": [1, 2.5, null]}')
    if action == "alloc":
        blocks = []
        while True:
            blocks.append(bytearray(1 << 20))
    raise NotImplementedError(action)
