// Returning a message: the first example of Lambda's Python handler guide, in AssemblyScript.
//
// {"first_name": "John", "last_name": "Smith"} -> {"message":"Hello John Smith!"}.
// An event without the names is a function error, as in the Python original.
import { Context, JSONValue, Result } from "./wasm-lambda";

export function handler(event: JSONValue, context: Context): Result {
  const first = event.get("first_name");
  const last = event.get("last_name");
  if (first == null || !first.isString()) return Result.fail("KeyError", "'first_name'");
  if (last == null || !last.isString()) return Result.fail("KeyError", "'last_name'");
  const message = "Hello " + first.asString() + " " + last.asString() + "!";
  return Result.ok(JSONValue.object().set("message", JSONValue.string(message)));
}
