// The glue between the project's `index.ts` and the `handler` world of
// guest-sdk/wit/handler.wit, written by hand against the canonical ABI.
// `wasm-lambda build` checks this module's exports against the WIT when it
// makes the component, so a changed export or signature fails the build. The
// offsets the glue reads and writes are not checked there: they are the ABI_
// constants below, which the host's test
// `core_module::tests::the_glue_offsets_match_the_wit` compares with the WIT's
// layout.
import { handler } from "./index";
import { CognitoIdentity, Context, JSONValue, takeString } from "./wasm-lambda";

export function cabi_realloc(old: usize, oldSize: usize, align: usize, newSize: usize): usize {
  if (newSize == 0) return align;
  // heap blocks are 16-aligned, more than any WIT type needs.
  return old != 0 ? heap.realloc(old, newSize) : heap.alloc(newSize);
}

function takeOptionalString(at: usize): string | null {
  return load<u8>(at) != 0 ? takeString(at + 4) : null;
}

// The canonical ABI's layout of handle's arguments and result on wasm32, in
// bytes: the arguments' offsets from the start of the buffer the host passes
// in, the result's from the start of the buffer handed back. The host's test
// `core_module::tests::the_glue_offsets_match_the_wit` derives each from the
// WIT and fails when one differs, is missing or is defined twice, or when the
// code below this block writes a number other than 0, 1, 2 or 4 (tags, counts,
// a string's length after its pointer) instead of naming an offset.
const ABI_EVENT: usize = 0;
const ABI_CONTEXT_AWS_REQUEST_ID: usize = 8;
const ABI_CONTEXT_FUNCTION_NAME: usize = 16;
const ABI_CONTEXT_FUNCTION_VERSION: usize = 24;
const ABI_CONTEXT_INVOKED_FUNCTION_ARN: usize = 32;
const ABI_CONTEXT_MEMORY_LIMIT_IN_MB: usize = 40;
const ABI_CONTEXT_LOG_GROUP_NAME: usize = 44;
const ABI_CONTEXT_LOG_STREAM_NAME: usize = 52;
const ABI_CONTEXT_DEADLINE_MS: usize = 64;
const ABI_CONTEXT_TRACE_ID: usize = 72;
const ABI_CONTEXT_IDENTITY: usize = 84;
const ABI_CONTEXT_IDENTITY_COGNITO_IDENTITY_ID: usize = 88;
const ABI_CONTEXT_IDENTITY_COGNITO_IDENTITY_POOL_ID: usize = 96;
const ABI_CONTEXT_CLIENT_CONTEXT: usize = 104;
const ABI_CONTEXT_TENANT_ID: usize = 116;
const ABI_RESULT_PAYLOAD: usize = 4;
const ABI_RESULT_SIZE: i32 = 28;
const ABI_HANDLER_ERROR_ERROR_TYPE: usize = 4;
const ABI_HANDLER_ERROR_ERROR_MESSAGE: usize = 12;
const ABI_HANDLER_ERROR_STACK_TRACE: usize = 20;

// The result<string, handler-error> handed back: its tag (0 for ok, 1 for an
// error) at 0, then the string or the handler-error.
const result = memory.data(ABI_RESULT_SIZE, 4);
// What the result points into, kept alive until the host has read it.
let returned: ArrayBuffer[] = [];

function putString(at: usize, text: string): void {
  const bytes = String.UTF8.encode(text);
  returned.push(bytes);
  store<u32>(at, <u32>changetype<usize>(bytes));
  store<u32>(at, <u32>bytes.byteLength, 4);
}

function fail(errorType: string, message: string): usize {
  store<u8>(result, 1);
  putString(result + ABI_HANDLER_ERROR_ERROR_TYPE, errorType);
  putString(result + ABI_HANDLER_ERROR_ERROR_MESSAGE, message);
  store<u32>(result + ABI_HANDLER_ERROR_STACK_TRACE, 0);
  store<u32>(result + ABI_HANDLER_ERROR_STACK_TRACE, 0, 4);
  return result;
}

// handle(event: string, context: context) -> result<string, handler-error>.
// Its 30 flattened parameters exceed the ABI's 16, so they arrive in one
// buffer.
export function handle(args: usize): usize {
  const event = takeString(args + ABI_EVENT);
  const context = new Context();
  context.awsRequestId = takeString(args + ABI_CONTEXT_AWS_REQUEST_ID);
  context.functionName = takeString(args + ABI_CONTEXT_FUNCTION_NAME);
  context.functionVersion = takeString(args + ABI_CONTEXT_FUNCTION_VERSION);
  context.invokedFunctionArn = takeString(args + ABI_CONTEXT_INVOKED_FUNCTION_ARN);
  context.memoryLimitInMB = load<u32>(args + ABI_CONTEXT_MEMORY_LIMIT_IN_MB);
  context.logGroupName = takeString(args + ABI_CONTEXT_LOG_GROUP_NAME);
  context.logStreamName = takeString(args + ABI_CONTEXT_LOG_STREAM_NAME);
  context.deadlineMs = load<u64>(args + ABI_CONTEXT_DEADLINE_MS);
  context.xrayTraceId = takeOptionalString(args + ABI_CONTEXT_TRACE_ID);
  context.traceId = context.xrayTraceId;
  if (load<u8>(args + ABI_CONTEXT_IDENTITY) != 0) {
    context.identity = new CognitoIdentity(
      takeString(args + ABI_CONTEXT_IDENTITY_COGNITO_IDENTITY_ID),
      takeString(args + ABI_CONTEXT_IDENTITY_COGNITO_IDENTITY_POOL_ID),
    );
  }
  context.clientContext = takeOptionalString(args + ABI_CONTEXT_CLIENT_CONTEXT);
  context.tenantId = takeOptionalString(args + ABI_CONTEXT_TENANT_ID);
  heap.free(args);

  returned = [];
  const parsed = JSONValue.parse(event);
  if (parsed == null) return fail("Runtime.UnmarshalError", "the event is not valid JSON");
  const outcome = handler(parsed, context);
  if (outcome.response == null) return fail(outcome.errorType, outcome.errorMessage);
  store<u8>(result, 0);
  putString(result + ABI_RESULT_PAYLOAD, outcome.response!.toString());
  return result;
}

export function cabi_post_handle(_result: usize): void {
  returned = [];
}
