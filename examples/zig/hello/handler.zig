//! Returning a message: the first example of Lambda's Python handler guide, in Zig.
//!
//! {"first_name": "John", "last_name": "Smith"} -> {"message":"Hello John Smith!"}.
//! An event without the names is a function error, as in the Python original.

const std = @import("std");
const lambda = @import("lambda.zig");

const Request = struct {
    first_name: []const u8,
    last_name: []const u8,
};

const Response = struct {
    message: []const u8,
};

pub fn handler(request: Request, context: *lambda.Context) !Response {
    const message = try std.fmt.allocPrint(context.allocator, "Hello {s} {s}!", .{ request.first_name, request.last_name });
    return .{ .message = message };
}
