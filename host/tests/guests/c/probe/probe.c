/* Reports what a C handler sees: every context field (the trace header under
 * both of its names), the remaining time and the environment variable the
 * event names ({"env": "NAME"}); {"fail": "message"} fails with the SDK's
 * fail function instead. */
#include <stdlib.h>

#include "wasm_lambda.h"

static void add_optional(cJSON *object, const char *key, const char *value) {
    if (value != NULL)
        cJSON_AddStringToObject(object, key, value);
    else
        cJSON_AddNullToObject(object, key);
}

static cJSON *probe(const cJSON *event, const wasm_lambda_context *context) {
    const cJSON *fail = cJSON_GetObjectItemCaseSensitive(event, "fail");
    if (cJSON_IsString(fail)) return wasm_lambda_fail("ProbeFailure", "%s", fail->valuestring);
    cJSON *seen = cJSON_CreateObject();
    cJSON_AddStringToObject(seen, "aws_request_id", context->aws_request_id);
    cJSON_AddStringToObject(seen, "function_name", context->function_name);
    cJSON_AddStringToObject(seen, "function_version", context->function_version);
    cJSON_AddStringToObject(seen, "invoked_function_arn", context->invoked_function_arn);
    cJSON_AddNumberToObject(seen, "memory_limit_in_mb", context->memory_limit_in_mb);
    cJSON_AddStringToObject(seen, "log_group_name", context->log_group_name);
    cJSON_AddStringToObject(seen, "log_stream_name", context->log_stream_name);
    cJSON_AddNumberToObject(seen, "deadline_ms", (double)context->deadline_ms);
    add_optional(seen, "trace_id", context->xray_trace_id);
    add_optional(seen, "trace_id_older_name", context->trace_id);
    add_optional(seen, "cognito_identity_id",
                 context->identity ? context->identity->cognito_identity_id : NULL);
    add_optional(seen, "cognito_identity_pool_id",
                 context->identity ? context->identity->cognito_identity_pool_id : NULL);
    add_optional(seen, "client_context", context->client_context);
    add_optional(seen, "tenant_id", context->tenant_id);
    cJSON_AddNumberToObject(seen, "remaining_ms", (double)wasm_lambda_remaining_time_in_millis());
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(event, "env");
    add_optional(seen, "env", cJSON_IsString(name) ? getenv(name->valuestring) : NULL);
    return seen;
}

WASM_LAMBDA_HANDLER(probe)
