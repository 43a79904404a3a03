/*
 * The C SDK's side of the `handler` world. The canonical-ABI glue itself
 * (handler.h, handler.c: the export `handle`, its post-return, `cabi_realloc`
 * and the imports) is generated from guest-sdk/wit/handler.wit by
 * wit-bindgen's C generator each time `wasm-lambda build` compiles a C
 * handler, so it cannot drift from the contract. This file turns the
 * generated types into the SDK's: NUL-terminated strings and cJSON values.
 */
#define _GNU_SOURCE /* vasprintf */
#include "wasm_lambda.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handler.h"

extern wasm_lambda_handler_fn wasm_lambda_user_handler;

uint64_t wasm_lambda_remaining_time_in_millis(void) {
    return wasm_lambda_handler_runtime_remaining_time_ms();
}

static char *error_type;
static char *error_message;

cJSON *wasm_lambda_fail(const char *type, const char *format, ...) {
    free(error_type);
    free(error_message);
    error_type = strdup(type);
    va_list args;
    va_start(args, format);
    if (vasprintf(&error_message, format, args) < 0) error_message = NULL;
    va_end(args);
    return NULL;
}

/* A NUL-terminated copy of a string the host passed in; frees the host's. */
static char *take(handler_string_t *text) {
    char *copy = malloc(text->len + 1);
    if (copy == NULL) abort();
    memcpy(copy, text->ptr, text->len);
    copy[text->len] = '\0';
    handler_string_free(text);
    return copy;
}

static char *take_optional(handler_option_string_t *text) {
    return text->is_some ? take(&text->val) : NULL;
}

/* Hands a malloc'ed string to the host; the generated post-return frees it
 * once the host has read it (it frees only non-empty strings, so an empty
 * one is freed here). */
static void give(handler_string_t *into, char *text) {
    if (text == NULL) abort();
    into->len = strlen(text);
    into->ptr = (uint8_t *)text;
    if (into->len == 0) {
        free(text);
        into->ptr = NULL;
    }
}

/* Fills `err` (no stack trace: C has none to give); false, for `return`. */
static bool give_error(handler_handler_error_t *err, char *type, char *message) {
    give(&err->error_type, type);
    give(&err->error_message, message);
    err->stack_trace.ptr = NULL;
    err->stack_trace.len = 0;
    return false;
}

/* The runner of one invocation, called by the generated `handle`. */
bool exports_handler_handle(handler_string_t *event_text, handler_context_t *ctx,
                            handler_string_t *ret, handler_handler_error_t *err) {
    wasm_lambda_cognito_identity identity = {0};
    wasm_lambda_context context = {
        .aws_request_id = take(&ctx->aws_request_id),
        .function_name = take(&ctx->function_name),
        .function_version = take(&ctx->function_version),
        .invoked_function_arn = take(&ctx->invoked_function_arn),
        .memory_limit_in_mb = ctx->memory_limit_in_mb,
        .log_group_name = take(&ctx->log_group_name),
        .log_stream_name = take(&ctx->log_stream_name),
        .deadline_ms = ctx->deadline_ms,
        .xray_trace_id = take_optional(&ctx->trace_id),
        .identity = NULL,
        .client_context = take_optional(&ctx->client_context),
        .tenant_id = take_optional(&ctx->tenant_id),
    };
    if (ctx->identity.is_some) {
        identity.cognito_identity_id = take(&ctx->identity.val.cognito_identity_id);
        identity.cognito_identity_pool_id = take(&ctx->identity.val.cognito_identity_pool_id);
        context.identity = &identity;
    }

    cJSON *event = cJSON_ParseWithLength((const char *)event_text->ptr, event_text->len);
    handler_string_free(event_text);

    bool answered;
    if (event == NULL) {
        answered = give_error(err, strdup("Runtime.UnmarshalError"),
                              strdup("the event is not valid JSON"));
    } else {
        cJSON *response = wasm_lambda_user_handler(event, &context);
        if (error_type != NULL) {
            char *message = error_message != NULL ? error_message : strdup("");
            answered = give_error(err, error_type, message);
            error_type = error_message = NULL;
            cJSON_Delete(response);
        } else {
            char *payload = response != NULL ? cJSON_PrintUnformatted(response) : strdup("null");
            cJSON_Delete(response);
            give(ret, payload);
            answered = true;
        }
        cJSON_Delete(event);
    }

    /* Output the handler left in stdio buffers belongs to this invocation. */
    fflush(stdout);
    fflush(stderr);
    free((void *)context.aws_request_id);
    free((void *)context.function_name);
    free((void *)context.function_version);
    free((void *)context.invoked_function_arn);
    free((void *)context.log_group_name);
    free((void *)context.log_stream_name);
    free((void *)context.xray_trace_id);
    free((void *)context.client_context);
    free((void *)context.tenant_id);
    free((void *)identity.cognito_identity_id);
    free((void *)identity.cognito_identity_pool_id);
    return answered;
}

/* The generated glue references the object file wit-bindgen can emit with the
 * world's type; `wasm-lambda build` embeds the world itself when it wraps the
 * module into a component, so the object is not linked and this stands in. */
void __component_type_object_force_link_handler(void) {}
