from common_utils import COUNTRIES, not_found, ok


def lambda_handler(event, context):
    code = (event.get("pathParameters") or {}).get("code", "").upper()
    if code not in COUNTRIES:
        return not_found(f"unknown country {code}")
    return ok({"code": code, "name": COUNTRIES[code]})
