//! The glue between the project's `handler.zig` and the `handler` world of
//! guest-sdk/wit/handler.wit, written by hand against the canonical ABI (the
//! offsets are that ABI's layout of the WIT types on wasm32). `wasm-lambda
//! build` checks this module's exports against the WIT when it makes the
//! component, so a drift between the two fails the build.

const std = @import("std");
const lambda = @import("lambda.zig");
const user = @import("handler.zig");

/// Everything an invocation allocates, the host's arguments included; reset
/// once the host has read the result.
var arena = std.heap.ArenaAllocator.init(std.heap.wasm_allocator);

export fn cabi_realloc(old: ?[*]u8, old_size: usize, alignment: usize, new_size: usize) ?[*]u8 {
    if (new_size == 0) return @ptrFromInt(alignment);
    const fresh = arena.allocator().rawAlloc(new_size, std.mem.Alignment.fromByteUnits(alignment), @returnAddress()) orelse @trap();
    if (old) |previous| @memcpy(fresh[0..@min(old_size, new_size)], previous[0..@min(old_size, new_size)]);
    return fresh;
}

const stringAt = lambda.stringAt;

fn optionalStringAt(at: [*]const u8) ?[]const u8 {
    return if (at[0] != 0) stringAt(at + 4) else null;
}

/// The result<string, handler-error> handed back: tag at 0, payload at 4.
var result: [7]u32 align(4) = undefined;

fn putString(slot: usize, text: []const u8) void {
    result[slot] = @intCast(@intFromPtr(text.ptr));
    result[slot + 1] = @intCast(text.len);
}

fn fail(error_type: []const u8, message: []const u8) [*]u8 {
    result[0] = 1;
    putString(1, error_type);
    putString(3, message);
    result[5] = 0;
    result[6] = 0;
    return @ptrCast(&result);
}

const Handler = @typeInfo(@TypeOf(user.handler)).@"fn";
const Event = Handler.param_types[0].?;

/// handle(event: string, context: context) -> result<string, handler-error>.
/// Its 30 flattened parameters exceed the ABI's 16, so they arrive in one
/// buffer: the event at 0, the context record (8-aligned) at 8.
export fn handle(args: [*]u8) [*]u8 {
    const allocator = arena.allocator();
    const c = args + 8;
    var context = lambda.Context{
        .aws_request_id = stringAt(c),
        .function_name = stringAt(c + 8),
        .function_version = stringAt(c + 16),
        .invoked_function_arn = stringAt(c + 24),
        .memory_limit_in_mb = std.mem.readInt(u32, c[32..36], .little),
        .log_group_name = stringAt(c + 36),
        .log_stream_name = stringAt(c + 44),
        .deadline_ms = std.mem.readInt(u64, c[56..64], .little),
        .trace_id = optionalStringAt(c + 64),
        .identity = if (c[76] != 0) .{
            .cognito_identity_id = stringAt(c + 80),
            .cognito_identity_pool_id = stringAt(c + 88),
        } else null,
        .client_context = optionalStringAt(c + 96),
        .tenant_id = optionalStringAt(c + 108),
        .allocator = allocator,
    };
    const event = std.json.parseFromSliceLeaky(Event, allocator, stringAt(args), .{
        .ignore_unknown_fields = true,
    }) catch |err| {
        const message = std.fmt.allocPrint(allocator, "the event does not fit {s}: {s}", .{ @typeName(Event), @errorName(err) }) catch @errorName(err);
        return fail("Runtime.UnmarshalError", message);
    };
    const response = user.handler(event, &context) catch |err| {
        return fail(@errorName(err), context.error_message orelse @errorName(err));
    };
    const payload = std.json.Stringify.valueAlloc(allocator, response, .{}) catch {
        return fail("Runtime.MarshalError", "out of memory writing the response");
    };
    result[0] = 0;
    putString(1, payload);
    return @ptrCast(&result);
}

export fn cabi_post_handle(_: [*]u8) void {
    _ = arena.reset(.retain_capacity);
}
