// Returning a calculation: the third example of Lambda's Python handler guide, in AssemblyScript.
//
// {"action": "increment", "number": 3} -> {"result":4}. Any other action is
// logged as an error and answered with {"result":null}.
import { Context, JSONValue, Result, log, logError } from "./wasm-lambda";

export function handler(event: JSONValue, context: Context): Result {
  const action = event.get("action");
  const number = event.get("number");
  const response = JSONValue.object();
  if (action != null && action.isString() && action.asString() == "increment") {
    const result = (number != null && number.isNumber() ? <i64>number.asNumber() : 0) + 1;
    log("[INFO]\t" + context.awsRequestId + "\tCalculated result of " + result.toString());
    return Result.ok(response.set("result", JSONValue.number(<f64>result)));
  }
  const name = action != null && action.isString() ? action.asString() : "None";
  logError("[ERROR]\t" + context.awsRequestId + "\t" + name + " is not a valid action.");
  return Result.ok(response.set("result", JSONValue.null()));
}
