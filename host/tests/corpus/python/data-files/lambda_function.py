import csv
import os

from mailer.render import render

with open(os.path.join(os.environ["LAMBDA_TASK_ROOT"], "rates.csv"), newline="") as f:
    RATES = {row["country"]: float(row["rate"]) for row in csv.DictReader(f)}


def lambda_handler(event, context):
    return {
        "email": render("shipped", name=event["name"], order=event["order"]),
        "tax": RATES[event["country"]],
    }
