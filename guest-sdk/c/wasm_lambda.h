/*
 * wasm-lambda C SDK: write a Lambda handler in C.
 *
 *     #include "wasm_lambda.h"
 *
 *     static cJSON *handler(const cJSON *event, const wasm_lambda_context *context) {
 *         const cJSON *name = cJSON_GetObjectItemCaseSensitive(event, "name");
 *         if (!cJSON_IsString(name))
 *             return wasm_lambda_fail("InvalidEvent", "the event has no name");
 *         cJSON *response = cJSON_CreateObject();
 *         cJSON_AddStringToObject(response, "greeting", name->valuestring);
 *         return response;
 *     }
 *
 *     WASM_LAMBDA_HANDLER(handler)
 *
 * The handler receives the event as parsed JSON (cJSON, vendored in
 * vendor/cjson) and the invocation's context, and returns the response as a
 * new cJSON value, which the SDK serialises and frees. To fail the
 * invocation, return `wasm_lambda_fail(type, format, ...)`: Lambda's error
 * JSON then carries that `errorType` and the formatted `errorMessage`.
 * Returning NULL without failing answers `null`.
 *
 * Environment variables are read with getenv(); stdout and stderr go to the
 * function's log. `wasm-lambda build` compiles every .c file of the project
 * together with this SDK.
 */
#ifndef WASM_LAMBDA_H
#define WASM_LAMBDA_H

#include <stdint.h>

#include "cJSON.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The caller's Cognito identity. */
typedef struct {
    const char *cognito_identity_id;
    const char *cognito_identity_pool_id;
} wasm_lambda_cognito_identity;

/* What Lambda tells a handler about the invocation. Optional fields are NULL
 * when absent. The strings live until the handler returns. */
typedef struct {
    const char *aws_request_id;
    const char *function_name;
    const char *function_version;
    const char *invoked_function_arn;
    uint32_t memory_limit_in_mb;
    const char *log_group_name;
    const char *log_stream_name;
    /* When the invocation times out, in milliseconds since the Unix epoch. */
    uint64_t deadline_ms;
    /* The X-Ray trace header; `trace_id` is its older name. */
    union {
        const char *xray_trace_id;
        const char *trace_id;
    };
    const wasm_lambda_cognito_identity *identity;
    /* The mobile client context, as JSON text. */
    const char *client_context;
    const char *tenant_id;
} wasm_lambda_context;

/* A handler: the event in, a new response value (or NULL) out. */
typedef cJSON *(*wasm_lambda_handler_fn)(const cJSON *event, const wasm_lambda_context *context);

/* Milliseconds left before the invocation times out, measured now: Lambda's
 * `getRemainingTimeInMillis`. */
uint64_t wasm_lambda_remaining_time_in_millis(void);

/* The older name of wasm_lambda_remaining_time_in_millis. */
#define wasm_lambda_remaining_time_ms wasm_lambda_remaining_time_in_millis

/* Records an error of type `error_type` with a printf-style message and
 * returns NULL, so a handler can `return wasm_lambda_fail(...)`. */
cJSON *wasm_lambda_fail(const char *error_type, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Names the project's handler function; use it once, at file scope. */
#define WASM_LAMBDA_HANDLER(function) wasm_lambda_handler_fn wasm_lambda_user_handler = (function);

#ifdef __cplusplus
}
#endif

#endif
