// The glue between the project's `index.ts` and the `handler` world of
// guest-sdk/wit/handler.wit, written by hand against the canonical ABI (the
// offsets are that ABI's layout of the WIT types on wasm32). `wasm-lambda
// build` checks this module's exports against the WIT when it makes the
// component, so a changed export or signature fails the build. The field
// offsets it reads are not checked there: the host's test
// `core_module::tests::the_glue_layout_matches_the_wit` derives them from the
// WIT and compares them with GLUE_LAYOUT, a table of these offsets kept by hand.
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

// The result<string, handler-error> handed back: tag at 0, payload at 4.
const result = memory.data(28, 4);
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
  putString(result + 4, errorType);
  putString(result + 12, message);
  store<u32>(result, 0, 20);
  store<u32>(result, 0, 24);
  return result;
}

// handle(event: string, context: context) -> result<string, handler-error>.
// Its 30 flattened parameters exceed the ABI's 16, so they arrive in one
// buffer: the event at 0, the context record (8-aligned) at 8.
export function handle(args: usize): usize {
  const c = args + 8;
  const event = takeString(args);
  const context = new Context();
  context.awsRequestId = takeString(c);
  context.functionName = takeString(c + 8);
  context.functionVersion = takeString(c + 16);
  context.invokedFunctionArn = takeString(c + 24);
  context.memoryLimitInMB = load<u32>(c, 32);
  context.logGroupName = takeString(c + 36);
  context.logStreamName = takeString(c + 44);
  context.deadlineMs = load<u64>(c, 56);
  context.xrayTraceId = takeOptionalString(c + 64);
  context.traceId = context.xrayTraceId;
  if (load<u8>(c, 76) != 0) {
    context.identity = new CognitoIdentity(takeString(c + 80), takeString(c + 88));
  }
  context.clientContext = takeOptionalString(c + 96);
  context.tenantId = takeOptionalString(c + 108);
  heap.free(args);

  returned = [];
  const parsed = JSONValue.parse(event);
  if (parsed == null) return fail("Runtime.UnmarshalError", "the event is not valid JSON");
  const outcome = handler(parsed, context);
  if (outcome.response == null) return fail(outcome.errorType, outcome.errorMessage);
  store<u8>(result, 0);
  putString(result + 4, outcome.response!.toString());
  return result;
}

export function cabi_post_handle(_result: usize): void {
  returned = [];
}
