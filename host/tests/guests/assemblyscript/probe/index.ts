// Reports what an AssemblyScript handler sees: every context field (the trace
// header under both of its names), the remaining time and the environment
// variable the event names ({"env": "NAME"}); {"fail": "message"} fails with
// the SDK's fail function instead.
import { Context, JSONValue, Result, getenv } from "./wasm-lambda";

function optional(value: string | null): JSONValue {
  return value != null ? JSONValue.string(value) : JSONValue.null();
}

export function handler(event: JSONValue, context: Context): Result {
  const fail = event.get("fail");
  if (fail != null && fail.isString()) return Result.fail("ProbeFailure", fail.asString());
  const identity = context.identity;
  const name = event.get("env");
  const seen = JSONValue.object()
    .set("aws_request_id", JSONValue.string(context.awsRequestId))
    .set("function_name", JSONValue.string(context.functionName))
    .set("function_version", JSONValue.string(context.functionVersion))
    .set("invoked_function_arn", JSONValue.string(context.invokedFunctionArn))
    .set("memory_limit_in_mb", JSONValue.number(<f64>context.memoryLimitInMB))
    .set("log_group_name", JSONValue.string(context.logGroupName))
    .set("log_stream_name", JSONValue.string(context.logStreamName))
    .set("deadline_ms", JSONValue.number(<f64>context.deadlineMs))
    .set("trace_id", optional(context.xrayTraceId))
    .set("trace_id_older_name", optional(context.traceId))
    .set("cognito_identity_id", optional(identity != null ? identity.cognitoIdentityId : null))
    .set(
      "cognito_identity_pool_id",
      optional(identity != null ? identity.cognitoIdentityPoolId : null),
    )
    .set("client_context", optional(context.clientContext))
    .set("tenant_id", optional(context.tenantId))
    .set("remaining_ms", JSONValue.number(<f64>context.getRemainingTimeInMillis()))
    .set("env", optional(name != null && name.isString() ? getenv(name.asString()) : null));
  return Result.ok(seen);
}
