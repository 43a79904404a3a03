/* Runs a C handler of examples/c once as a native process, the baseline
 * `wasm-lambda bench --vs-native` compares a C component's cold start with:
 * `gcc -O2 -I guest-sdk/c -I guest-sdk/c/vendor/cjson benches/native/c_runner.c
 *  examples/c/calculator/handler.c guest-sdk/c/vendor/cjson/cJSON.c -o c-calculator`,
 * then `./c-calculator < event.json`. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "wasm_lambda.h"

extern wasm_lambda_handler_fn wasm_lambda_user_handler;

static char *failure;

uint64_t wasm_lambda_remaining_time_ms(void) {
    return 3000;
}

cJSON *wasm_lambda_fail(const char *type, const char *format, ...) {
    va_list args;
    va_start(args, format);
    if (vasprintf(&failure, format, args) < 0) failure = NULL;
    va_end(args);
    fprintf(stderr, "%s: %s\n", type, failure ? failure : "");
    return NULL;
}

int main(void) {
    char buffer[1 << 16];
    size_t length = fread(buffer, 1, sizeof buffer, stdin);
    cJSON *event = cJSON_ParseWithLength(buffer, length);
    wasm_lambda_context context = {.aws_request_id = "00000000-0000-4000-8000-000000000000",
                                   .function_name = "calculator",
                                   .memory_limit_in_mb = 128};
    cJSON *response = wasm_lambda_user_handler(event, &context);
    char *text = response ? cJSON_PrintUnformatted(response) : "null";
    puts(text);
    return failure ? 1 : 0;
}
