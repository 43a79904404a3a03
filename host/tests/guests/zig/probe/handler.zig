//! Reports what a Zig handler sees: every context field (the trace header
//! under both of its names), the remaining time and the environment variable
//! the event names ({"env": "NAME"}); {"fail": "message"} fails with the
//! SDK's fail function instead.

const std = @import("std");
const lambda = @import("lambda.zig");

const Request = struct {
    env: []const u8 = "",
    fail: ?[]const u8 = null,
};

const Seen = struct {
    aws_request_id: []const u8,
    function_name: []const u8,
    function_version: []const u8,
    invoked_function_arn: []const u8,
    memory_limit_in_mb: u32,
    log_group_name: []const u8,
    log_stream_name: []const u8,
    deadline_ms: u64,
    trace_id: ?[]const u8,
    trace_id_older_name: ?[]const u8,
    cognito_identity_id: ?[]const u8,
    cognito_identity_pool_id: ?[]const u8,
    client_context: ?[]const u8,
    tenant_id: ?[]const u8,
    remaining_ms: u64,
    env: ?[]const u8,
};

pub fn handler(request: Request, context: *lambda.Context) !Seen {
    if (request.fail) |message| return context.fail(error.ProbeFailure, "{s}", .{message});
    return .{
        .aws_request_id = context.aws_request_id,
        .function_name = context.function_name,
        .function_version = context.function_version,
        .invoked_function_arn = context.invoked_function_arn,
        .memory_limit_in_mb = context.memory_limit_in_mb,
        .log_group_name = context.log_group_name,
        .log_stream_name = context.log_stream_name,
        .deadline_ms = context.deadline_ms,
        .trace_id = context.xray_trace_id,
        .trace_id_older_name = context.trace_id,
        .cognito_identity_id = if (context.identity) |identity| identity.cognito_identity_id else null,
        .cognito_identity_pool_id = if (context.identity) |identity| identity.cognito_identity_pool_id else null,
        .client_context = context.client_context,
        .tenant_id = context.tenant_id,
        .remaining_ms = context.remainingTimeInMillis(),
        .env = context.getenv(request.env),
    };
}
