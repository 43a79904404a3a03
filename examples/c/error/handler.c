/* Failing with a typed error: the invocation answers Lambda's error JSON.
 *
 * {"action": "increment", "number": 3} -> {"result":4}; any other action ->
 * {"errorType":"InvalidAction","errorMessage":"unknown action: square",...}. */
#include <string.h>

#include "wasm_lambda.h"

static cJSON *handler(const cJSON *event, const wasm_lambda_context *context) {
    (void)context;
    const cJSON *action = cJSON_GetObjectItemCaseSensitive(event, "action");
    const cJSON *number = cJSON_GetObjectItemCaseSensitive(event, "number");
    if (!cJSON_IsString(action) || strcmp(action->valuestring, "increment") != 0) {
        const char *name = cJSON_IsString(action) ? action->valuestring : "none";
        return wasm_lambda_fail("InvalidAction", "unknown action: %s", name);
    }
    if (!cJSON_IsNumber(number))
        return wasm_lambda_fail("InvalidNumber", "the event's number is missing or not a number");

    cJSON *response = cJSON_CreateObject();
    cJSON_AddNumberToObject(response, "result", number->valuedouble + 1);
    return response;
}

WASM_LAMBDA_HANDLER(handler)
