import re


def generate_policy(principal_id, effect, resource, context=None):
    policy = {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
    }
    if context:
        policy["context"] = context
    return policy


def lambda_handler(event, context):
    token = event.get("authorizationToken", "")
    match = re.fullmatch(r"Bearer (allow|deny)-(\w+)", token)
    if match is None:
        raise Exception("Unauthorized")
    arn_parts = event["methodArn"].split(":")
    api_gateway_arn = arn_parts[5].split("/")
    resource = f"{':'.join(arn_parts[:5])}:{api_gateway_arn[0]}/{api_gateway_arn[1]}/*/*"
    effect = "Allow" if match.group(1) == "allow" else "Deny"
    return generate_policy(match.group(2), effect, resource, {"tier": "gold"})
