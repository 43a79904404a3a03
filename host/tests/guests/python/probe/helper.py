"""A local module of the probe: bundled with the handler."""


def greet(name):
    return f"Hello, {name}"


def fail(message):
    raise ValueError(message)
