import json
import os
import pkgutil
from importlib import resources
from string import Template

HERE = os.path.dirname(os.path.abspath(__file__))

with open(os.path.join(HERE, "settings.json"), encoding="utf-8") as f:
    SETTINGS = json.load(f)


def render(template, **values):
    text = resources.files("mailer").joinpath("templates", f"{template}.txt").read_text(encoding="utf-8")
    footer = pkgutil.get_data("mailer", "templates/footer.txt").decode("utf-8")
    return Template(text).substitute(values, sender=SETTINGS["sender"]) + footer
