// Failing with a typed error: the invocation answers Lambda's error JSON.
//
// {"action": "increment", "number": 3} -> {"result":4}; any other action ->
// {"errorType":"InvalidAction","errorMessage":"unknown action: square",...}.
import { Context, JSONValue, Result } from "./wasm-lambda";

export function handler(event: JSONValue, context: Context): Result {
  const action = event.get("action");
  const name = action != null && action.isString() ? action.asString() : "none";
  if (name != "increment") return Result.fail("InvalidAction", "unknown action: " + name);
  const number = event.get("number");
  if (number == null || !number.isNumber()) {
    return Result.fail("InvalidNumber", "the event's number is missing or not a number");
  }
  return Result.ok(JSONValue.object().set("result", JSONValue.number(number.asNumber() + 1)));
}
