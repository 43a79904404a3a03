"""A handler that keeps a file open from its init phase: the host cannot
snapshot that (the file's handle would dangle in the next sandbox), so the
init phase runs in every sandbox instead, and the handler still works."""

import os

LOG = open("/tmp/init.log", "a")  # noqa: SIM115 - kept open on purpose
LOG.write(f"init in {os.environ.get('AWS_LAMBDA_FUNCTION_NAME')}\n")
LOG.flush()


def lambda_handler(event, context):
    LOG.write(f"call {event.get('n')}\n")
    LOG.flush()
    with open("/tmp/init.log") as file:
        return file.read().splitlines()
