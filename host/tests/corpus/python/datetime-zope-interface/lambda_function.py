"""An API Gateway handler that answers when an order placed at a given
time ships: the next business day, at 09:00 in the warehouse's zone, with
the DateTime package (which pulls in zope.interface, published as platform
wheels only, whose pure-Python implementation runs without its C
speedups). The carriers are zope.interface components."""

import json

from DateTime import DateTime
from zope.interface import Interface, implementer


class ICarrier(Interface):
    def days(weight):
        """Days in transit for a parcel of `weight` kg."""


@implementer(ICarrier)
class Ground:
    name = "ground"

    def days(self, weight):
        return 3 if weight < 20 else 5


@implementer(ICarrier)
class Express:
    name = "express"

    def days(self, weight):
        return 1


def next_business_day(when):
    day = DateTime(when.Date() + " 09:00 " + when.timezone()) + 1
    while day.dow() in (0, 6):
        day = day + 1
    return day


def lambda_handler(event, context):
    query = event.get("queryStringParameters") or {}
    placed = DateTime(query["placed"])
    ships = next_business_day(placed)
    carriers = [Ground(), Express()]
    weight = float(query.get("weight", "1"))
    quotes = {
        carrier.name: (ships + carrier.days(weight)).Date()
        for carrier in carriers
        if ICarrier.providedBy(carrier)
    }
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(
            {
                "placed": placed.ISO8601(),
                "placedOn": placed.DayOfWeek(),
                "ships": ships.ISO8601(),
                "arrives": quotes,
            }
        ),
    }
