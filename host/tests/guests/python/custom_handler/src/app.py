from .greeting import PREFIX


def handle(event, context):
    return {"greeting": f"{PREFIX} {event['name']}", "handler": __name__}
