/* Returning a calculation: the third example of Lambda's Python handler guide, in C.
 *
 * {"action": "increment", "number": 3} -> {"result":4}. Any other action is
 * logged as an error and answered with {"result":null}. */
#include <stdio.h>
#include <string.h>

#include "wasm_lambda.h"

static cJSON *handler(const cJSON *event, const wasm_lambda_context *context) {
    const cJSON *action = cJSON_GetObjectItemCaseSensitive(event, "action");
    const cJSON *number = cJSON_GetObjectItemCaseSensitive(event, "number");
    cJSON *response = cJSON_CreateObject();

    if (cJSON_IsString(action) && strcmp(action->valuestring, "increment") == 0) {
        long long result = (cJSON_IsNumber(number) ? (long long)number->valuedouble : 0) + 1;
        printf("[INFO]\t%s\tCalculated result of %lld\n", context->aws_request_id, result);
        cJSON_AddNumberToObject(response, "result", (double)result);
    } else {
        const char *name = cJSON_IsString(action) ? action->valuestring : "None";
        fprintf(stderr, "[ERROR]\t%s\t%s is not a valid action.\n", context->aws_request_id, name);
        cJSON_AddNullToObject(response, "result");
    }
    return response;
}

WASM_LAMBDA_HANDLER(handler)
