//! The glue between the project's `handler.zig` and the `handler` world of
//! guest-sdk/wit/handler.wit, written by hand against the canonical ABI.
//! `wasm-lambda build` checks this module's exports against the WIT when it
//! makes the component, so a changed export or signature fails the build. The
//! offsets the glue reads and writes are not checked there: they are the `abi_`
//! constants below, which the host's test
//! `core_module::tests::the_glue_offsets_match_the_wit` compares with the WIT's
//! layout.

const std = @import("std");
const lambda = @import("lambda.zig");
const user = @import("handler.zig");

/// Where allocations come from first: a buffer inside the module's initial
/// memory. `std.heap.wasm_allocator` takes every page with `memory.grow`,
/// which costs a fresh instance more than the rest of its cold start; it is
/// only the fallback here, for what does not fit.
var heap_buffer: [1 << 20]u8 = undefined;
var fixed = std.heap.FixedBufferAllocator.init(&heap_buffer);

const heap_vtable = std.mem.Allocator.VTable{
    .alloc = heapAlloc,
    .resize = heapResize,
    .remap = heapRemap,
    .free = heapFree,
};
const heap = std.mem.Allocator{ .ptr = undefined, .vtable = &heap_vtable };

fn heapAlloc(_: *anyopaque, len: usize, alignment: std.mem.Alignment, ret_addr: usize) ?[*]u8 {
    return fixed.allocator().rawAlloc(len, alignment, ret_addr) orelse
        std.heap.wasm_allocator.rawAlloc(len, alignment, ret_addr);
}

fn owner(memory: []u8) std.mem.Allocator {
    return if (fixed.ownsSlice(memory)) fixed.allocator() else std.heap.wasm_allocator;
}

fn heapResize(_: *anyopaque, memory: []u8, alignment: std.mem.Alignment, new_len: usize, ret_addr: usize) bool {
    return owner(memory).rawResize(memory, alignment, new_len, ret_addr);
}

fn heapRemap(_: *anyopaque, memory: []u8, alignment: std.mem.Alignment, new_len: usize, ret_addr: usize) ?[*]u8 {
    return owner(memory).rawRemap(memory, alignment, new_len, ret_addr);
}

fn heapFree(_: *anyopaque, memory: []u8, alignment: std.mem.Alignment, ret_addr: usize) void {
    owner(memory).rawFree(memory, alignment, ret_addr);
}

var heap_ready = false;

/// Everything an invocation allocates, the host's arguments included; reset
/// once the host has read the result.
var arena: std.heap.ArenaAllocator = undefined;

fn allocator() std.mem.Allocator {
    if (!heap_ready) {
        arena = std.heap.ArenaAllocator.init(heap);
        heap_ready = true;
    }
    return arena.allocator();
}

export fn cabi_realloc(old: ?[*]u8, old_size: usize, alignment: usize, new_size: usize) ?[*]u8 {
    if (new_size == 0) return @ptrFromInt(alignment);
    const fresh = allocator().rawAlloc(new_size, std.mem.Alignment.fromByteUnits(alignment), @returnAddress()) orelse @trap();
    if (old) |previous| @memcpy(fresh[0..@min(old_size, new_size)], previous[0..@min(old_size, new_size)]);
    return fresh;
}

const stringAt = lambda.stringAt;

fn optionalStringAt(at: [*]const u8) ?[]const u8 {
    return if (at[0] != 0) stringAt(at + 4) else null;
}

// The canonical ABI's layout of handle's arguments and result on wasm32, in
// bytes: the arguments' offsets from the start of the buffer the host passes
// in, the result's from the start of the buffer handed back. The host's test
// `core_module::tests::the_glue_offsets_match_the_wit` derives each from the
// WIT and fails when one differs, is missing or is defined twice, or when the
// code below this block writes a number other than 0, 1, 2 or 4 (tags, counts,
// a string's length after its pointer) instead of naming an offset.
const abi_event = 0;
const abi_context_aws_request_id = 8;
const abi_context_function_name = 16;
const abi_context_function_version = 24;
const abi_context_invoked_function_arn = 32;
const abi_context_memory_limit_in_mb = 40;
const abi_context_log_group_name = 44;
const abi_context_log_stream_name = 52;
const abi_context_deadline_ms = 64;
const abi_context_trace_id = 72;
const abi_context_identity = 84;
const abi_context_identity_cognito_identity_id = 88;
const abi_context_identity_cognito_identity_pool_id = 96;
const abi_context_client_context = 104;
const abi_context_tenant_id = 116;
const abi_result_payload = 4;
const abi_result_size = 28;
const abi_handler_error_error_type = 4;
const abi_handler_error_error_message = 12;
const abi_handler_error_stack_trace = 20;

/// The result<string, handler-error> handed back: its tag (0 for ok, 1 for an
/// error) at 0, then the string or the handler-error.
var result: [abi_result_size]u8 align(4) = undefined;

fn putU32(at: usize, value: usize) void {
    std.mem.writeInt(u32, result[at..][0..4], @intCast(value), .little);
}

/// Writes text's pointer at byte `at` of the result, its length after it.
fn putString(at: usize, text: []const u8) void {
    putU32(at, @intFromPtr(text.ptr));
    putU32(at + 4, text.len);
}

fn readAt(comptime T: type, args: [*]const u8, at: usize) T {
    return std.mem.readInt(T, args[at..][0..@sizeOf(T)], .little);
}

fn fail(error_type: []const u8, message: []const u8) [*]u8 {
    result[0] = 1;
    putString(abi_handler_error_error_type, error_type);
    putString(abi_handler_error_error_message, message);
    putU32(abi_handler_error_stack_trace, 0);
    putU32(abi_handler_error_stack_trace + 4, 0);
    return &result;
}

const Handler = @typeInfo(@TypeOf(user.handler)).@"fn";
const Event = Handler.param_types[0].?;

/// handle(event: string, context: context) -> result<string, handler-error>.
/// Its 30 flattened parameters exceed the ABI's 16, so they arrive in one
/// buffer.
export fn handle(args: [*]u8) [*]u8 {
    const gpa = allocator();
    const xray_trace_id = optionalStringAt(args + abi_context_trace_id);
    var context = lambda.Context{
        .aws_request_id = stringAt(args + abi_context_aws_request_id),
        .function_name = stringAt(args + abi_context_function_name),
        .function_version = stringAt(args + abi_context_function_version),
        .invoked_function_arn = stringAt(args + abi_context_invoked_function_arn),
        .memory_limit_in_mb = readAt(u32, args, abi_context_memory_limit_in_mb),
        .log_group_name = stringAt(args + abi_context_log_group_name),
        .log_stream_name = stringAt(args + abi_context_log_stream_name),
        .deadline_ms = readAt(u64, args, abi_context_deadline_ms),
        .xray_trace_id = xray_trace_id,
        .trace_id = xray_trace_id,
        .identity = if (args[abi_context_identity] != 0) .{
            .cognito_identity_id = stringAt(args + abi_context_identity_cognito_identity_id),
            .cognito_identity_pool_id = stringAt(args + abi_context_identity_cognito_identity_pool_id),
        } else null,
        .client_context = optionalStringAt(args + abi_context_client_context),
        .tenant_id = optionalStringAt(args + abi_context_tenant_id),
        .allocator = gpa,
    };
    const event = std.json.parseFromSliceLeaky(Event, gpa, stringAt(args + abi_event), .{
        .ignore_unknown_fields = true,
    }) catch |err| {
        const message = std.fmt.allocPrint(gpa, "the event does not fit {s}: {s}", .{ @typeName(Event), @errorName(err) }) catch @errorName(err);
        return fail("Runtime.UnmarshalError", message);
    };
    const response = user.handler(event, &context) catch |err| {
        return fail(@errorName(err), context.error_message orelse @errorName(err));
    };
    const payload = std.json.Stringify.valueAlloc(gpa, response, .{}) catch {
        return fail("Runtime.MarshalError", "out of memory writing the response");
    };
    result[0] = 0;
    putString(abi_result_payload, payload);
    return &result;
}

export fn cabi_post_handle(_: [*]u8) void {
    if (heap_ready) _ = arena.reset(.retain_capacity);
}
