/*
 * The glue between a C handler and the `handler` world of
 * guest-sdk/wit/handler.wit, written by hand against the canonical ABI (the
 * offsets below are that ABI's layout of the WIT types on wasm32).
 * `wasm-lambda build` checks this module's exports against the WIT when it
 * wraps the module into a component, so a drift between the two fails the
 * build.
 */
#define _GNU_SOURCE /* vasprintf */
#include "wasm_lambda.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern wasm_lambda_handler_fn wasm_lambda_user_handler;

__attribute__((import_module("wasm-lambda:handler/runtime@0.2.0"),
               import_name("remaining-time-ms"))) extern int64_t
wasm_lambda_import_remaining_time_ms(void);

uint64_t wasm_lambda_remaining_time_in_millis(void) {
    return (uint64_t)wasm_lambda_import_remaining_time_ms();
}

/* The allocator the host uses to pass arguments into this module. */
__attribute__((export_name("cabi_realloc"))) void *cabi_realloc(void *ptr, size_t old_size,
                                                                size_t align, size_t new_size) {
    (void)old_size;
    if (new_size == 0) return (void *)align;
    void *memory = realloc(ptr, new_size);
    if (memory == NULL) abort();
    return memory;
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

/* A WIT string at `at`: a pointer and a byte length. */
static const char *string_ptr(const uint8_t *at) {
    return *(char *const *)at;
}
static uint32_t string_len(const uint8_t *at) {
    return *(const uint32_t *)(at + 4);
}

/* Copies the WIT string at `at` into a NUL-terminated string and frees the
 * host's buffer. */
static char *take_string(const uint8_t *at) {
    uint32_t len = string_len(at);
    char *copy = malloc((size_t)len + 1);
    if (copy == NULL) abort();
    memcpy(copy, string_ptr(at), len);
    copy[len] = '\0';
    free((void *)string_ptr(at));
    return copy;
}

/* An option<string> at `at`: a tag byte, then the string at offset 4. */
static char *take_optional_string(const uint8_t *at) {
    return at[0] ? take_string(at + 4) : NULL;
}

static void put_string(uint8_t *at, const char *text) {
    *(const char **)at = text;
    *(uint32_t *)(at + 4) = (uint32_t)strlen(text);
}

/* The result<string, handler-error> handed back: tag at 0, payload at 4. */
static _Alignas(4) uint8_t result_area[28];

/* What the result points into, freed after the host has read it. */
static char *returned[2];

static uint8_t *return_ok(char *payload) {
    returned[0] = payload;
    result_area[0] = 0;
    put_string(result_area + 4, payload);
    return result_area;
}

static uint8_t *return_error(char *type, char *message) {
    returned[0] = type;
    returned[1] = message;
    result_area[0] = 1;
    put_string(result_area + 4, type);
    put_string(result_area + 12, message);
    /* No stack trace: an empty list<string>. */
    *(uint32_t *)(result_area + 20) = 0;
    *(uint32_t *)(result_area + 24) = 0;
    return result_area;
}

__attribute__((export_name("cabi_post_handle"))) void wasm_lambda_post_handle(uint8_t *result) {
    (void)result;
    free(returned[0]);
    free(returned[1]);
    returned[0] = returned[1] = NULL;
}

/* handle(event: string, context: context) -> result<string, handler-error>.
 * Its 30 flattened parameters exceed the ABI's 16, so they arrive in one
 * buffer: the event at 0, the context record (8-aligned) at 8. */
__attribute__((export_name("handle"))) uint8_t *wasm_lambda_handle(uint8_t *args) {
    const uint8_t *ctx = args + 8;
    uint32_t event_len = string_len(args);
    char *event_text = (char *)string_ptr(args);

    wasm_lambda_cognito_identity identity = {0};
    wasm_lambda_context context = {
        .aws_request_id = take_string(ctx + 0),
        .function_name = take_string(ctx + 8),
        .function_version = take_string(ctx + 16),
        .invoked_function_arn = take_string(ctx + 24),
        .memory_limit_in_mb = *(const uint32_t *)(ctx + 32),
        .log_group_name = take_string(ctx + 36),
        .log_stream_name = take_string(ctx + 44),
        .deadline_ms = *(const uint64_t *)(ctx + 56),
        .xray_trace_id = take_optional_string(ctx + 64),
        .identity = NULL,
        .client_context = take_optional_string(ctx + 96),
        .tenant_id = take_optional_string(ctx + 108),
    };
    if (ctx[76]) {
        identity.cognito_identity_id = take_string(ctx + 80);
        identity.cognito_identity_pool_id = take_string(ctx + 88);
        context.identity = &identity;
    }
    free(args);

    cJSON *event = cJSON_ParseWithLength(event_text, event_len);
    free(event_text);

    uint8_t *result;
    if (event == NULL) {
        result =
            return_error(strdup("Runtime.UnmarshalError"), strdup("the event is not valid JSON"));
    } else {
        cJSON *response = wasm_lambda_user_handler(event, &context);
        if (error_type != NULL) {
            char *message = error_message != NULL ? error_message : strdup("");
            result = return_error(error_type, message);
            error_type = error_message = NULL;
            cJSON_Delete(response);
        } else {
            char *payload = response != NULL ? cJSON_PrintUnformatted(response) : strdup("null");
            cJSON_Delete(response);
            if (payload == NULL) abort();
            result = return_ok(payload);
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
    return result;
}
