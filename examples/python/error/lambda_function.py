# Raises for an event without an "action": shows Lambda's error JSON.
ACTIONS = {
    'increment': lambda number: number + 1,
}


def lambda_handler(event, context):
    result = ACTIONS[event['action']](event['number'])
    return {'result': result}
