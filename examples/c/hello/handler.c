/* Returning a message: the first example of Lambda's Python handler guide, in C.
 *
 * {"first_name": "John", "last_name": "Smith"} -> {"message":"Hello John Smith!"}.
 * An event without the names is a function error, as in the Python original. */
#include <stdio.h>

#include "wasm_lambda.h"

static cJSON *handler(const cJSON *event, const wasm_lambda_context *context) {
    (void)context;
    const cJSON *first = cJSON_GetObjectItemCaseSensitive(event, "first_name");
    const cJSON *last = cJSON_GetObjectItemCaseSensitive(event, "last_name");
    if (!cJSON_IsString(first)) return wasm_lambda_fail("KeyError", "'first_name'");
    if (!cJSON_IsString(last)) return wasm_lambda_fail("KeyError", "'last_name'");

    char message[512];
    snprintf(message, sizeof message, "Hello %s %s!", first->valuestring, last->valuestring);
    cJSON *response = cJSON_CreateObject();
    cJSON_AddStringToObject(response, "message", message);
    return response;
}

WASM_LAMBDA_HANDLER(handler)
