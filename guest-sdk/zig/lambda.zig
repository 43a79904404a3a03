//! wasm-lambda Zig SDK: write a Lambda handler in Zig.
//!
//! A project holds `handler.zig` with a public `handler` function taking the
//! event (any type `std.json` can parse into, `std.json.Value` for any JSON)
//! and the context, and returning an error union of any type `std.json` can
//! write:
//!
//!     const std = @import("std");
//!     const lambda = @import("lambda.zig");
//!
//!     const Request = struct { name: []const u8 };
//!
//!     pub fn handler(request: Request, context: *lambda.Context) !struct { greeting: []const u8 } {
//!         if (request.name.len == 0) return context.fail(error.InvalidName, "the name is empty", .{});
//!         const greeting = try std.fmt.allocPrint(context.allocator, "Hello {s}!", .{request.name});
//!         return .{ .greeting = greeting };
//!     }
//!
//! A returned error fails the invocation: its name is Lambda's `errorType`,
//! and the message is the one `Context.fail` recorded, or the name.
//! `context.allocator` is an arena freed after each invocation. Unknown
//! fields of the event are ignored. `wasm-lambda build` compiles the project
//! with this file and the glue in `main.zig`.

const std = @import("std");

/// The caller's Cognito identity.
pub const CognitoIdentity = struct {
    cognito_identity_id: []const u8,
    cognito_identity_pool_id: []const u8,
};

/// What Lambda tells a handler about the invocation and the function.
pub const Context = struct {
    aws_request_id: []const u8,
    function_name: []const u8,
    function_version: []const u8,
    invoked_function_arn: []const u8,
    memory_limit_in_mb: u32,
    log_group_name: []const u8,
    log_stream_name: []const u8,
    /// When the invocation times out, in milliseconds since the Unix epoch.
    deadline_ms: u64,
    /// The X-Ray trace header (the Rust runtime's name).
    xray_trace_id: ?[]const u8,
    /// The same header under its older name.
    trace_id: ?[]const u8,
    identity: ?CognitoIdentity,
    /// A mobile caller's client context, as JSON text.
    client_context: ?[]const u8,
    tenant_id: ?[]const u8,
    /// An arena for this invocation, freed when it ends.
    allocator: std.mem.Allocator,
    /// The message `fail` recorded.
    error_message: ?[]const u8 = null,

    /// The function's environment variable `name` (Lambda's variables and
    /// the configured ones), or null.
    pub fn getenv(_: *const Context, name: []const u8) ?[]const u8 {
        var list: [2]u32 = undefined;
        environment(&list);
        const entries: [*]const u8 = @ptrFromInt(list[0]);
        for (0..list[1]) |i| {
            const entry = entries + i * 16;
            if (std.mem.eql(u8, stringAt(entry), name)) return stringAt(entry + 8);
        }
        return null;
    }

    /// Milliseconds left before the invocation times out, measured now:
    /// Lambda's `getRemainingTimeInMillis`.
    pub fn remainingTimeInMillis(_: *const Context) u64 {
        return @"remaining-time-ms"();
    }

    /// The older name of `remainingTimeInMillis`.
    pub fn remainingTimeMillis(self: *const Context) u64 {
        return self.remainingTimeInMillis();
    }

    /// Records `format` as the error message and returns `err`, so a
    /// handler can `return context.fail(error.Name, "...", .{...})`.
    pub fn fail(self: *Context, err: anyerror, comptime format: []const u8, args: anytype) anyerror {
        self.error_message = std.fmt.allocPrint(self.allocator, format, args) catch null;
        return err;
    }
};

extern "wasm-lambda:handler/runtime@0.2.0" fn @"remaining-time-ms"() u64;
extern "wasm-lambda:handler/runtime@0.2.0" fn environment(list: *[2]u32) void;

/// The WIT string (pointer, byte length) at `at`.
pub fn stringAt(at: [*]const u8) []const u8 {
    const ptr = std.mem.readInt(u32, at[0..4], .little);
    const len = std.mem.readInt(u32, at[4..8], .little);
    if (len == 0) return "";
    const base: [*]const u8 = @ptrFromInt(ptr);
    return base[0..len];
}

fn writeAll(fd: std.os.wasi.fd_t, bytes: []const u8) void {
    var rest = bytes;
    while (rest.len > 0) {
        const iov = [_]std.os.wasi.ciovec_t{.{ .base = rest.ptr, .len = rest.len }};
        var written: usize = 0;
        if (std.os.wasi.fd_write(fd, &iov, 1, &written) != .SUCCESS or written == 0) return;
        rest = rest[written..];
    }
}

fn printTo(fd: std.os.wasi.fd_t, comptime format: []const u8, args: anytype) void {
    var buffer: [4096]u8 = undefined;
    const text = std.fmt.bufPrint(&buffer, format, args) catch {
        var heap = std.heap.ArenaAllocator.init(std.heap.wasm_allocator);
        defer heap.deinit();
        writeAll(fd, std.fmt.allocPrint(heap.allocator(), format, args) catch return);
        return;
    };
    writeAll(fd, text);
}

/// Writes a formatted line part to stdout (the function's log).
pub fn print(comptime format: []const u8, args: anytype) void {
    printTo(1, format, args);
}

/// Writes a formatted line part to stderr (the function's log).
pub fn eprint(comptime format: []const u8, args: anytype) void {
    printTo(2, format, args);
}
