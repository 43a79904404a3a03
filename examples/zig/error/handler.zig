//! Failing with a typed error: the error's name is Lambda's errorType.
//!
//! {"action": "increment", "number": 3} -> {"result":4}; any other action ->
//! {"errorType":"InvalidAction","errorMessage":"unknown action: square",...}.

const std = @import("std");
const lambda = @import("lambda.zig");

const Request = struct {
    action: []const u8 = "",
    number: i64 = 0,
};

pub fn handler(request: Request, context: *lambda.Context) !struct { result: i64 } {
    if (!std.mem.eql(u8, request.action, "increment")) {
        return context.fail(error.InvalidAction, "unknown action: {s}", .{request.action});
    }
    return .{ .result = request.number + 1 };
}
