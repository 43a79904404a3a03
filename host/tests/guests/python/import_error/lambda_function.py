import not_a_real_module  # noqa: F401 - fails at the first invocation


def lambda_handler(event, context):
    return "unreachable"
