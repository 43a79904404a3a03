// wasm-lambda AssemblyScript SDK: write a Lambda handler in AssemblyScript.
//
// A project keeps its handler in `index.ts`:
//
//     import { Context, JSONValue, Result } from "./wasm-lambda";
//
//     export function handler(event: JSONValue, context: Context): Result {
//       const name = event.get("name");
//       if (name == null || !name.isString()) {
//         return Result.error("InvalidEvent", "the event has no name");
//       }
//       return Result.ok(JSONValue.object().set("greeting", JSONValue.string("Hello " + name.asString())));
//     }
//
// AssemblyScript has no exceptions to catch, so a handler fails by returning
// `Result.error(errorType, errorMessage)`: Lambda's error JSON then carries
// both. The event arrives parsed; the response is written as JSON.
// `wasm-lambda build` compiles the project with this file and its glue.

// ---------------------------------------------------------------- JSON ---

/** The kinds of JSON value. */
export enum JSONKind {
  Null,
  Bool,
  Number,
  String,
  Array,
  Object,
}

/** A JSON value: parse events, build responses. Objects keep key order. */
export class JSONValue {
  kind: JSONKind = JSONKind.Null;
  private boolValue: bool = false;
  private numberValue: f64 = 0;
  private stringValue: string = "";
  private items: JSONValue[] = [];
  private keys: string[] = [];

  static null(): JSONValue {
    return new JSONValue();
  }
  static bool(value: bool): JSONValue {
    const v = new JSONValue();
    v.kind = JSONKind.Bool;
    v.boolValue = value;
    return v;
  }
  static number(value: f64): JSONValue {
    const v = new JSONValue();
    v.kind = JSONKind.Number;
    v.numberValue = value;
    return v;
  }
  static string(value: string): JSONValue {
    const v = new JSONValue();
    v.kind = JSONKind.String;
    v.stringValue = value;
    return v;
  }
  static array(items: JSONValue[] = []): JSONValue {
    const v = new JSONValue();
    v.kind = JSONKind.Array;
    v.items = items;
    return v;
  }
  static object(): JSONValue {
    const v = new JSONValue();
    v.kind = JSONKind.Object;
    return v;
  }

  isNull(): bool {
    return this.kind == JSONKind.Null;
  }
  isBool(): bool {
    return this.kind == JSONKind.Bool;
  }
  isNumber(): bool {
    return this.kind == JSONKind.Number;
  }
  isString(): bool {
    return this.kind == JSONKind.String;
  }
  isArray(): bool {
    return this.kind == JSONKind.Array;
  }
  isObject(): bool {
    return this.kind == JSONKind.Object;
  }
  asBool(): bool {
    return this.boolValue;
  }
  asNumber(): f64 {
    return this.numberValue;
  }
  asString(): string {
    return this.stringValue;
  }
  /** The elements of an array (or an object's values, in order). */
  asArray(): JSONValue[] {
    return this.items;
  }
  /** An object's keys, in order. */
  objectKeys(): string[] {
    return this.keys;
  }

  /** An object's member, or null. */
  get(key: string): JSONValue | null {
    if (this.kind != JSONKind.Object) return null;
    for (let i = this.keys.length - 1; i >= 0; i--) {
      if (this.keys[i] == key) return this.items[i];
    }
    return null;
  }

  /** Sets an object's member (replacing an existing one); returns this. */
  set(key: string, value: JSONValue): JSONValue {
    for (let i = 0; i < this.keys.length; i++) {
      if (this.keys[i] == key) {
        this.items[i] = value;
        return this;
      }
    }
    this.keys.push(key);
    this.items.push(value);
    return this;
  }

  /** Appends to an array; returns this. */
  push(value: JSONValue): JSONValue {
    this.items.push(value);
    return this;
  }

  /** Compact JSON text, as JSON.stringify writes it. */
  toString(): string {
    const parts: string[] = [];
    this.write(parts);
    return parts.join("");
  }

  private write(out: string[]): void {
    switch (this.kind) {
      case JSONKind.Null:
        out.push("null");
        break;
      case JSONKind.Bool:
        out.push(this.boolValue ? "true" : "false");
        break;
      case JSONKind.Number:
        out.push(formatNumber(this.numberValue));
        break;
      case JSONKind.String:
        out.push(quote(this.stringValue));
        break;
      case JSONKind.Array:
        out.push("[");
        for (let i = 0; i < this.items.length; i++) {
          if (i > 0) out.push(",");
          this.items[i].write(out);
        }
        out.push("]");
        break;
      default:
        out.push("{");
        for (let i = 0; i < this.keys.length; i++) {
          if (i > 0) out.push(",");
          out.push(quote(this.keys[i]));
          out.push(":");
          this.items[i].write(out);
        }
        out.push("}");
    }
  }

  /** Parses JSON text; null when it is not valid JSON. */
  static parse(text: string): JSONValue | null {
    const parser = new Parser(text);
    const value = parser.value();
    if (value == null) return null;
    parser.skipSpace();
    return parser.at == text.length ? value : null;
  }
}

function formatNumber(n: f64): string {
  if (!isFinite(n)) return "null";
  if (n == Math.floor(n) && Math.abs(n) < 9007199254740992) return (<i64>n).toString();
  return n.toString();
}

function quote(s: string): string {
  const parts: string[] = ['"'];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let escaped: string | null = null;
    if (c == 0x22) escaped = '\\"';
    else if (c == 0x5c) escaped = "\\\\";
    else if (c == 0x0a) escaped = "\\n";
    else if (c == 0x0d) escaped = "\\r";
    else if (c == 0x09) escaped = "\\t";
    else if (c == 0x08) escaped = "\\b";
    else if (c == 0x0c) escaped = "\\f";
    else if (c < 0x20) escaped = "\\u00" + (c < 0x10 ? "0" : "") + c.toString(16);
    if (escaped != null) {
      parts.push(s.substring(start, i));
      parts.push(escaped);
      start = i + 1;
    }
  }
  parts.push(s.substring(start));
  parts.push('"');
  return parts.join("");
}

class Parser {
  at: i32 = 0;
  constructor(public text: string) {}

  skipSpace(): void {
    while (this.at < this.text.length) {
      const c = this.text.charCodeAt(this.at);
      if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
      this.at++;
    }
  }

  private literal(word: string): bool {
    if (this.text.substr(this.at, word.length) != word) return false;
    this.at += word.length;
    return true;
  }

  value(): JSONValue | null {
    this.skipSpace();
    if (this.at >= this.text.length) return null;
    const c = this.text.charCodeAt(this.at);
    if (c == 0x7b) return this.object();
    if (c == 0x5b) return this.array();
    if (c == 0x22) {
      const s = this.string();
      return s == null ? null : JSONValue.string(s);
    }
    if (this.literal("true")) return JSONValue.bool(true);
    if (this.literal("false")) return JSONValue.bool(false);
    if (this.literal("null")) return JSONValue.null();
    return this.number();
  }

  private object(): JSONValue | null {
    const result = JSONValue.object();
    this.at++;
    this.skipSpace();
    if (this.text.charCodeAt(this.at) == 0x7d) {
      this.at++;
      return result;
    }
    while (true) {
      this.skipSpace();
      if (this.text.charCodeAt(this.at) != 0x22) return null;
      const key = this.string();
      if (key == null) return null;
      this.skipSpace();
      if (this.text.charCodeAt(this.at) != 0x3a) return null;
      this.at++;
      const member = this.value();
      if (member == null) return null;
      result.set(key, member);
      this.skipSpace();
      const next = this.text.charCodeAt(this.at++);
      if (next == 0x7d) return result;
      if (next != 0x2c) return null;
    }
  }

  private array(): JSONValue | null {
    const result = JSONValue.array();
    this.at++;
    this.skipSpace();
    if (this.text.charCodeAt(this.at) == 0x5d) {
      this.at++;
      return result;
    }
    while (true) {
      const item = this.value();
      if (item == null) return null;
      result.push(item);
      this.skipSpace();
      const next = this.text.charCodeAt(this.at++);
      if (next == 0x5d) return result;
      if (next != 0x2c) return null;
    }
  }

  private string(): string | null {
    this.at++;
    const parts: string[] = [];
    let start = this.at;
    while (this.at < this.text.length) {
      const c = this.text.charCodeAt(this.at);
      if (c == 0x22) {
        parts.push(this.text.substring(start, this.at));
        this.at++;
        return parts.join("");
      }
      if (c < 0x20) return null;
      if (c != 0x5c) {
        this.at++;
        continue;
      }
      parts.push(this.text.substring(start, this.at));
      const e = this.text.charCodeAt(this.at + 1);
      this.at += 2;
      if (e == 0x22) parts.push('"');
      else if (e == 0x5c) parts.push("\\");
      else if (e == 0x2f) parts.push("/");
      else if (e == 0x62) parts.push("\b");
      else if (e == 0x66) parts.push("\f");
      else if (e == 0x6e) parts.push("\n");
      else if (e == 0x72) parts.push("\r");
      else if (e == 0x74) parts.push("\t");
      else if (e == 0x75) {
        const code = I32.parseInt(this.text.substr(this.at, 4), 16);
        if (this.at + 4 > this.text.length || isNaN(<f64>code)) return null;
        parts.push(String.fromCharCode(code));
        this.at += 4;
      } else return null;
      start = this.at;
    }
    return null;
  }

  private number(): JSONValue | null {
    const start = this.at;
    while (this.at < this.text.length) {
      const c = this.text.charCodeAt(this.at);
      const numeric = (c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x2b || c == 0x2e || c == 0x65 || c == 0x45;
      if (!numeric) break;
      this.at++;
    }
    if (this.at == start) return null;
    const n = F64.parseFloat(this.text.substring(start, this.at));
    return isNaN(n) ? null : JSONValue.number(n);
  }
}

// ------------------------------------------------------------- Context ---

/** The caller's Cognito identity. */
export class CognitoIdentity {
  constructor(
    public cognitoIdentityId: string,
    public cognitoIdentityPoolId: string,
  ) {}
}

@external("wasm-lambda:handler/runtime@0.2.0", "remaining-time-ms")
declare function remainingTimeMs(): u64;

@external("wasm-lambda:handler/runtime@0.2.0", "environment")
declare function environment(list: usize): void;

/** Takes the WIT string at `at` (UTF-8 bytes), freeing its buffer. */
export function takeString(at: usize): string {
  const ptr = <usize>load<u32>(at);
  const len = <usize>load<u32>(at, 4);
  const text = String.UTF8.decodeUnsafe(ptr, len, false);
  if (len > 0) heap.free(ptr);
  return text;
}

/** The function's environment variable `name` (Lambda's variables and the configured ones), or null. */
export function getenv(name: string): string | null {
  const list = memory.data(8, 4);
  environment(list);
  const entries = <usize>load<u32>(list);
  const count = <i32>load<u32>(list, 4);
  let found: string | null = null;
  for (let i = 0; i < count; i++) {
    const entry = entries + <usize>i * 16;
    const key = takeString(entry);
    const value = takeString(entry + 8);
    if (key == name) found = value;
  }
  if (count > 0) heap.free(entries);
  return found;
}

/** What Lambda tells a handler about the invocation and the function. */
export class Context {
  awsRequestId: string = "";
  functionName: string = "";
  functionVersion: string = "";
  invokedFunctionArn: string = "";
  memoryLimitInMB: u32 = 0;
  logGroupName: string = "";
  logStreamName: string = "";
  /** When the invocation times out, in milliseconds since the Unix epoch. */
  deadlineMs: u64 = 0;
  /** The X-Ray trace header (the Rust runtime's name). */
  xrayTraceId: string | null = null;
  /** The same header under its older name. */
  traceId: string | null = null;
  identity: CognitoIdentity | null = null;
  /** A mobile caller's client context, as JSON text. */
  clientContext: string | null = null;
  tenantId: string | null = null;

  /** Milliseconds left before the invocation times out, measured now. */
  getRemainingTimeInMillis(): u64 {
    return remainingTimeMs();
  }
}

/** A handler's outcome: a response, or an error. */
export class Result {
  constructor(
    public response: JSONValue | null,
    public errorType: string,
    public errorMessage: string,
  ) {}

  static ok(response: JSONValue): Result {
    return new Result(response, "", "");
  }
  /** Fails the invocation: Lambda's error JSON with this type and message. */
  static fail(errorType: string, errorMessage: string): Result {
    return new Result(null, errorType, errorMessage);
  }
  /** The older name of `fail`. */
  static error(errorType: string, errorMessage: string): Result {
    return Result.fail(errorType, errorMessage);
  }
}

// ----------------------------------------------------------------- Log ---

@external("wasi_snapshot_preview1", "fd_write")
declare function fd_write(fd: u32, iovs: usize, iovsLen: u32, written: usize): u16;

function writeText(fd: u32, text: string): void {
  const bytes = String.UTF8.encode(text);
  const iov = memory.data(8);
  const written = memory.data(4);
  let offset = 0;
  while (offset < bytes.byteLength) {
    store<u32>(iov, <u32>(changetype<usize>(bytes) + offset));
    store<u32>(iov, <u32>(bytes.byteLength - offset), 4);
    if (fd_write(fd, iov, 1, written) != 0) return;
    const count = load<u32>(written);
    if (count == 0) return;
    offset += count;
  }
}

/** Writes a line to stdout (the function's log). */
export function log(line: string): void {
  writeText(1, line + "\n");
}

/** Writes a line to stderr (the function's log). */
export function logError(line: string): void {
  writeText(2, line + "\n");
}

/** Reports an abort (a failed assertion, an out-of-range access) on stderr before the trap. */
export function abort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  writeText(2, "abort: " + (message != null ? message : "") + " at " + (fileName != null ? fileName : "?") + ":" + line.toString() + ":" + column.toString() + "\n");
  unreachable();
}
