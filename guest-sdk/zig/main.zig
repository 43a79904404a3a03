//! The glue between the project's `handler.zig` and the `handler` world of
//! guest-sdk/wit/handler.wit, written by hand against the canonical ABI (the
//! offsets are that ABI's layout of the WIT types on wasm32). `wasm-lambda
//! build` checks this module's exports against the WIT when it makes the
//! component, so a changed export or signature fails the build. The field
//! offsets it reads are not checked there: the host's test
//! `core_module::tests::the_glue_layout_matches_the_wit` derives them from the
//! WIT and compares them with GLUE_LAYOUT, a table of these offsets kept by hand.

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
    const gpa = allocator();
    const c = args + 8;
    const xray_trace_id = optionalStringAt(c + 64);
    var context = lambda.Context{
        .aws_request_id = stringAt(c),
        .function_name = stringAt(c + 8),
        .function_version = stringAt(c + 16),
        .invoked_function_arn = stringAt(c + 24),
        .memory_limit_in_mb = std.mem.readInt(u32, c[32..36], .little),
        .log_group_name = stringAt(c + 36),
        .log_stream_name = stringAt(c + 44),
        .deadline_ms = std.mem.readInt(u64, c[56..64], .little),
        .xray_trace_id = xray_trace_id,
        .trace_id = xray_trace_id,
        .identity = if (c[76] != 0) .{
            .cognito_identity_id = stringAt(c + 80),
            .cognito_identity_pool_id = stringAt(c + 88),
        } else null,
        .client_context = optionalStringAt(c + 96),
        .tenant_id = optionalStringAt(c + 108),
        .allocator = gpa,
    };
    const event = std.json.parseFromSliceLeaky(Event, gpa, stringAt(args), .{
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
    putString(1, payload);
    return @ptrCast(&result);
}

export fn cabi_post_handle(_: [*]u8) void {
    if (heap_ready) _ = arena.reset(.retain_capacity);
}
