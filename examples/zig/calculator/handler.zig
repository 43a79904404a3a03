//! Returning a calculation: the third example of Lambda's Python handler guide, in Zig.
//!
//! {"action": "increment", "number": 3} -> {"result":4}. Any other action is
//! logged as an error and answered with {"result":null}.

const std = @import("std");
const lambda = @import("lambda.zig");

const Request = struct {
    action: ?[]const u8 = null,
    number: i64 = 0,
};

const Response = struct {
    result: ?i64,
};

pub fn handler(request: Request, context: *lambda.Context) !Response {
    const action = request.action orelse "None";
    if (std.mem.eql(u8, action, "increment")) {
        const result = request.number + 1;
        lambda.print("[INFO]\t{s}\tCalculated result of {d}\n", .{ context.aws_request_id, result });
        return .{ .result = result };
    }
    lambda.eprint("[ERROR]\t{s}\t{s} is not a valid action.\n", .{ context.aws_request_id, action });
    return .{ .result = null };
}
