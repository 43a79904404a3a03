// Lambda's Node.js runtime behaviour inside a wasm-lambda component: the
// context object, `process.env`, console output and the error shapes follow
// AWS Lambda's Node.js runtime, so a handler written for it runs unchanged.
//
// `wasm-lambda build` stages this file next to the user's code and generates
// an entry module that imports it *before* the handler's module, so that
// `process` exists when the handler's top-level code runs.
import { environment, remainingTimeMs } from 'wasm-lambda:handler/runtime@0.2.0';
import {
  setContentType as streamContentType,
  write as streamWrite,
} from 'wasm-lambda:handler/response-stream@0.2.0';
// The bundle's source map (bundle.mjs): where each line of the bundle came
// from, for stack traces that name the function's own files.
import sourceMap from './__wasm_lambda_sourcemap.mjs';

// Where Lambda puts the function's code; stack traces name files under it.
const TASK_ROOT = '/var/task';

// ---------------------------------------------------------------------------
// process.env: read from the host when first used, in the init phase or at
// invocation time (the build's own snapshot runs only the SDK's code).

let cachedEnvironment = null;
// `running` is set by the first invocation. Before it, code runs inside the
// build's snapshot, where calling the host traps: the environment is empty
// then, and the SDK's `fs` (node-fs.mjs, bundled with the handler, which
// reads this object) serves the build's embedded files. The object is made
// during the snapshot so that the first invocation changes a property
// rather than the global object's shape (adding a global then costs about
// 15 µs of every cold start).
const sharedState = (globalThis.__wasmLambdaState = { running: false });

// True while the init phase runs at load (`initPhase`): the host is there
// (the environment is the function's), but the SDK's `fs` keeps to the
// embedded files, since the host snapshots the instance afterwards and a
// snapshot cannot keep a file open.
let initialising = false;

// The running invocation's X-Ray trace header. The sandbox's environment
// holds its first invocation's; Lambda's runtime sets each invocation's own
// in process.env (deleting it when there is none).
let invocationTraceId = undefined;

function applyTraceId(variables) {
  if (invocationTraceId == null) delete variables._X_AMZN_TRACE_ID;
  else variables._X_AMZN_TRACE_ID = invocationTraceId;
}

function currentEnvironment() {
  if (!sharedState.running && !initialising) return {};
  if (cachedEnvironment === null) {
    cachedEnvironment = Object.fromEntries(environment());
    if (sharedState.running) applyTraceId(cachedEnvironment);
  }
  return cachedEnvironment;
}

// Called as each invocation starts: the environment is read from the host
// only when the handler first uses it, so the trace header is applied then
// or now, whichever comes later.
function startInvocation(context) {
  sharedState.running = true;
  requestId = context.awsRequestId;
  tenantId = context.tenantId ?? undefined;
  invocationTraceId = context.traceId;
  if (cachedEnvironment !== null) applyTraceId(cachedEnvironment);
}

const env = new Proxy(
  {},
  {
    get: (_, name) => currentEnvironment()[name],
    set: (_, name, value) => {
      currentEnvironment()[name] = String(value);
      return true;
    },
    has: (_, name) => name in currentEnvironment(),
    deleteProperty: (_, name) => delete currentEnvironment()[name],
    ownKeys: () => Reflect.ownKeys(currentEnvironment()),
    getOwnPropertyDescriptor: (_, name) => {
      const value = currentEnvironment()[name];
      return value === undefined
        ? undefined
        : { value, writable: true, enumerable: true, configurable: true };
    },
  },
);

if (typeof globalThis.process === 'undefined') {
  // What Node code reads of `process` (the ports of Node's modules call
  // nextTick; handlers time themselves with hrtime).
  const hrtime = (previous) => {
    const nanos = BigInt(Math.round(performance.now() * 1e6));
    const now = [Number(nanos / 1_000_000_000n), Number(nanos % 1_000_000_000n)];
    if (!previous) return now;
    let seconds = now[0] - previous[0];
    let rest = now[1] - previous[1];
    if (rest < 0) {
      seconds -= 1;
      rest += 1e9;
    }
    return [seconds, rest];
  };
  hrtime.bigint = () => BigInt(Math.round(performance.now() * 1e6));
  globalThis.process = {
    env,
    platform: 'linux',
    argv: ['/var/lang/bin/node', '/var/runtime/index.mjs'],
    version: 'v24.0.0',
    versions: { node: '24.0.0' },
    nextTick: (callback, ...args) => queueMicrotask(() => callback(...args)),
    hrtime,
    cwd: () => '/var/task',
    emitWarning: () => {},
  };
}

// Node's `process` is an event emitter: handlers and libraries register
// `process.on('unhandledRejection' | 'uncaughtException' | 'beforeExit' |
// 'exit', ...)` at load, and some emit events of their own on it. The
// listeners are kept and `emit` calls them; the sandbox itself emits none
// of Node's process events (the engine does not report unhandled
// rejections: docs/javascript.md).
if (typeof globalThis.process.on !== 'function') {
  const listeners = new Map();
  const of = (name) => listeners.get(name) ?? [];
  const add = (name, listener, once, first) => {
    const entry = { listener, once };
    const list = of(name);
    listeners.set(name, first ? [entry, ...list] : [...list, entry]);
    return globalThis.process;
  };
  const remove = (name, listener) => {
    listeners.set(
      name,
      of(name).filter((entry) => entry.listener !== listener),
    );
    return globalThis.process;
  };
  Object.assign(globalThis.process, {
    on: (name, listener) => add(name, listener, false, false),
    addListener: (name, listener) => add(name, listener, false, false),
    prependListener: (name, listener) => add(name, listener, false, true),
    once: (name, listener) => add(name, listener, true, false),
    prependOnceListener: (name, listener) => add(name, listener, true, true),
    off: remove,
    removeListener: remove,
    removeAllListeners: (name) => {
      if (name === undefined) listeners.clear();
      else listeners.delete(name);
      return globalThis.process;
    },
    listeners: (name) => of(name).map((entry) => entry.listener),
    listenerCount: (name) => of(name).length,
    emit: (name, ...args) => {
      const list = of(name);
      listeners.set(
        name,
        list.filter((entry) => !entry.once),
      );
      for (const { listener } of list) listener.apply(globalThis.process, args);
      return list.length > 0;
    },
  });
}

// Node's timers: `setImmediate` is a global there, and `setTimeout` and
// `setImmediate` carry their promise forms for `util.promisify` (under
// Node's symbol, which the SDK's `util` uses too: see bundle.mjs).
const PROMISIFY = Symbol.for('nodejs.util.promisify.custom');
if (typeof globalThis.setImmediate !== 'function') {
  globalThis.setImmediate = (callback, ...args) => setTimeout(callback, 0, ...args);
  globalThis.clearImmediate = (id) => clearTimeout(id);
}
globalThis.setTimeout[PROMISIFY] ??= (delay, value) =>
  new Promise((resolve) => setTimeout(resolve, delay, value));
globalThis.setImmediate[PROMISIFY] ??= (value) =>
  new Promise((resolve) => setTimeout(resolve, 0, value));

// ---------------------------------------------------------------------------
// console: Lambda's Node.js log format, `<ISO time>\t<request id>\t<LEVEL>\t<message>`.

let requestId = undefined;
let tenantId = undefined;
const write = console.log.bind(console);
// What the init phase logs, kept for the host while it runs (`initPhase`).
let initOutput = null;

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

// A small `util.inspect`: enough for the log lines handlers write.
function inspect(value, depth = 0, seen = new Set()) {
  switch (typeof value) {
    case 'string':
      return depth === 0 ? value : `'${value.replace(/'/g, "\\'")}'`;
    case 'bigint':
      return `${value}n`;
    case 'function':
      return `[Function: ${value.name || '(anonymous)'}]`;
    case 'undefined':
      return 'undefined';
    case 'object':
      break;
    default:
      return String(value);
  }
  if (value === null) return 'null';
  if (value instanceof Error) {
    return [`${value.name}: ${value.message}`, ...nodeTrace(rawStack(value), null)].join('\n');
  }
  if (seen.has(value)) return '[Circular *1]';
  if (depth > 2) return Array.isArray(value) ? '[Array]' : '[Object]';
  seen.add(value);
  const inner = (item) => inspect(item, depth + 1, seen);
  let text;
  if (Array.isArray(value)) {
    text = value.length ? `[ ${value.map(inner).join(', ')} ]` : '[]';
  } else {
    const entries = Object.entries(value).map(
      ([key, item]) => `${IDENTIFIER.test(key) ? key : `'${key}'`}: ${inner(item)}`,
    );
    text = entries.length ? `{ ${entries.join(', ')} }` : '{}';
  }
  seen.delete(value);
  return text;
}

function format(args) {
  return args.map((arg) => inspect(arg)).join(' ');
}

// Lambda's logging controls, as its Node.js runtime reads them: the format
// from AWS_LAMBDA_LOG_FORMAT (JSON makes every console line a JSON record)
// and the level from AWS_LAMBDA_LOG_LEVEL (console methods below it write
// nothing). Read from the environment at the first console call that has
// one (the init phase's, or an invocation's): a cold start that logs
// nothing reads no environment.
const LOG_LEVELS = { TRACE: 1, DEBUG: 2, INFO: 3, WARN: 4, ERROR: 5, FATAL: 6 };
let logSettings = null;

function readLogSettings() {
  if (logSettings !== null) return logSettings;
  if (!sharedState.running && !initialising) return { json: false, level: 1 };
  const variables = currentEnvironment();
  logSettings = {
    json: String(variables.AWS_LAMBDA_LOG_FORMAT ?? '').toUpperCase() === 'JSON',
    level: LOG_LEVELS[String(variables.AWS_LAMBDA_LOG_LEVEL ?? '').toUpperCase()] ?? 1,
  };
  return logSettings;
}

// An Error in a JSON record, as Lambda's runtime writes one.
function errorRecord(error) {
  return {
    errorType: error?.constructor?.name ?? 'UnknownError',
    errorMessage: error.message,
    // Node's stack: the error's line, then its frames as `    at` lines.
    stackTrace: [`${error.name}: ${error.message}`, ...nodeTrace(rawStack(error), null)],
  };
}

function jsonReplacer(_key, value) {
  if (value instanceof Error) return { ...errorRecord(value), ...value };
  return value;
}

// Lambda's JSON record of a console call: `timestamp`, `level`, `requestId`
// (absent outside an invocation), `tenantId` when there is one, and
// `message`: one argument as it is, several formatted into one text.
function jsonLine(level, args) {
  const record = {
    timestamp: new Date().toISOString(),
    level,
    requestId,
    tenantId,
  };
  if (args.length === 1) {
    try {
      return JSON.stringify({ ...record, message: args[0] }, jsonReplacer);
    } catch {
      return JSON.stringify({ ...record, message: format(args) });
    }
  }
  record.message = format(args);
  const error = args.find((arg) => arg instanceof Error);
  if (error) Object.assign(record, errorRecord(error));
  return JSON.stringify(record);
}

for (const [method, level] of [
  ['log', 'INFO'],
  ['info', 'INFO'],
  ['warn', 'WARN'],
  ['error', 'ERROR'],
  ['debug', 'DEBUG'],
  ['trace', 'TRACE'],
  ['fatal', 'FATAL'],
]) {
  console[method] = (...args) => {
    const settings = readLogSettings();
    if (LOG_LEVELS[level] < settings.level && level !== 'FATAL') return;
    const line = settings.json
      ? jsonLine(level, args)
      : `${new Date().toISOString()}\t${requestId}\t${level}\t${format(args)}`;
    if (initOutput !== null) initOutput.push(line);
    else write(line);
  };
}

// `process.stdout` and `process.stderr`: what is written goes to the
// function's log as it is, without the console's prefix, as on Lambda
// (Powertools' logger and pino write their JSON lines there). Each write
// is a line of its own: one trailing newline is dropped.
function outputStream(fd) {
  return {
    fd,
    isTTY: false,
    writable: true,
    columns: 80,
    write(chunk, encoding, callback) {
      if (typeof encoding === 'function') callback = encoding;
      let text = typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk);
      if (text.endsWith('\n')) text = text.slice(0, -1);
      if (initOutput !== null) initOutput.push(text);
      else write(text);
      if (typeof callback === 'function') queueMicrotask(callback);
      return true;
    },
    end(chunk, encoding, callback) {
      if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') {
        this.write(chunk, encoding);
      }
      const done = [chunk, encoding, callback].find((item) => typeof item === 'function');
      if (done) queueMicrotask(done);
      return this;
    },
    on() {
      return this;
    },
    once() {
      return this;
    },
    off() {
      return this;
    },
    removeListener() {
      return this;
    },
    emit() {
      return false;
    },
    cork() {},
    uncork() {},
  };
}
globalThis.process.stdout ??= outputStream(1);
globalThis.process.stderr ??= outputStream(2);

// ---------------------------------------------------------------------------
// The context object, with Node's camelCase names.

function makeContext(context) {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: context.functionName,
    functionVersion: context.functionVersion,
    invokedFunctionArn: context.invokedFunctionArn,
    // Lambda's Node.js runtime reads it from the environment: a string.
    memoryLimitInMB: String(context.memoryLimitInMb),
    awsRequestId: context.awsRequestId,
    logGroupName: context.logGroupName,
    logStreamName: context.logStreamName,
    identity: context.identity
      ? {
          cognitoIdentityId: context.identity.cognitoIdentityId,
          cognitoIdentityPoolId: context.identity.cognitoIdentityPoolId,
        }
      : undefined,
    clientContext: context.clientContext ? JSON.parse(context.clientContext) : undefined,
    tenantId: context.tenantId,
    getRemainingTimeInMillis: () => Number(remainingTimeMs()),
  };
}

// ---------------------------------------------------------------------------
// Errors, as Lambda's Node.js runtime reports them.

// Where a frame's file is, as Node.js prints ES module locations.
function fileUrl(location, stagingRoot) {
  if (stagingRoot && location.includes(stagingRoot)) {
    return location.split(stagingRoot).join(`file://${TASK_ROOT}`);
  }
  return /^[a-z]+:/.test(location) || location.startsWith('/')
    ? location
    : `file://${TASK_ROOT}/${location}`;
}

// Base64 VLQ digits of source maps.
const VLQ = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

// The bundle's source map, as bundle.mjs writes it: each line's mappings
// apart, with the source, line and column carried into it. A line's
// segments are decoded when a frame on it is first named.
const decodedLines = new Map();

// The segments of bundle line `line` (0-based): `[column, source, line,
// column]` each.
function lineSegments(line) {
  const text = sourceMap.lines?.[line];
  if (text === undefined) return null;
  if (decodedLines.has(line)) return decodedLines.get(line);
  const carried = sourceMap.carried;
  const state = [0, carried[line * 3], carried[line * 3 + 1], carried[line * 3 + 2]];
  const segments = [];
  for (const segment of text.split(',')) {
    if (!segment) continue;
    const fields = [];
    let value = 0;
    let shift = 0;
    for (let index = 0; index < segment.length; index += 1) {
      const digit = VLQ.indexOf(segment[index]);
      value += (digit & 31) << shift;
      if (digit & 32) {
        shift += 5;
      } else {
        fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
        value = 0;
        shift = 0;
      }
    }
    for (let index = 0; index < fields.length && index < 4; index += 1) {
      state[index] += fields[index];
    }
    if (fields.length >= 4) segments.push([state[0], state[1], state[2], state[3]]);
  }
  decodedLines.set(line, segments);
  return segments;
}

// Where `line:column` (1-based) of the bundle came from, as `[file under
// /var/task, line, column]`, when it is the function's code or a package's
// (not the SDK's); otherwise null.
function sourceOf(line, column) {
  const segments = lineSegments(line - 1);
  if (!segments || segments.length === 0) return null;
  let found = segments[0];
  for (const segment of segments) {
    if (segment[0] <= column - 1) found = segment;
  }
  const source = sourceMap.sources?.[found[1]];
  if (!source || source.startsWith('..') || source.includes('__wasm_lambda_')) return null;
  return [`${TASK_ROOT}/${source}`, found[2] + 1, found[3] + 1];
}

// The same as `file:///var/task/<file>:line:column`, when it is the
// function's own code (not a package's either); otherwise null.
function originalLocation(line, column) {
  const where = sourceOf(line, column);
  if (!where || where[0].includes('/node_modules/')) return null;
  return `file://${where.join(':')}`;
}

// A frame in the bundle, in the terms of the file it came from.
const BUNDLE_FRAME = /__wasm_lambda_handler\.mjs:(\d+):(\d+)$/;

// A SpiderMonkey stack trace (`fn@file:line:col` lines) in Node's
// `    at fn (file:///var/task/file:line:col)` form, without the frames of
// this runtime and of componentize-js's glue (whose build-time paths mean
// nothing to the function's author).
function nodeTrace(stack, stagingRoot) {
  const frames = [];
  for (const line of String(stack ?? '').split('\n')) {
    const at = line.lastIndexOf('@');
    let fn = line.slice(0, at);
    let location;
    const bundled = BUNDLE_FRAME.exec(line);
    if (bundled) {
      location = originalLocation(Number(bundled[1]), Number(bundled[2]));
      if (!location) continue;
      // esbuild names a module's top-level code after its file
      // (`index.mjs`); Node names no function there.
      if (/\.[cm]?js$/.test(fn)) fn = '';
    } else {
      if (!line.trim() || line.includes('__wasm_lambda_') || line.includes('initializer.js'))
        continue;
      if (at < 0) {
        frames.push(`    at ${line.trim()}`);
        continue;
      }
      location = fileUrl(line.slice(at + 1), stagingRoot);
    }
    frames.push(fn ? `    at ${fn} (${location})` : `    at ${location}`);
  }
  return frames;
}

// ---------------------------------------------------------------------------
// V8's stack trace API, which packages use to find their callers (depd,
// loaded by Express and most of its middleware, when it is first called;
// callsites, get-caller-file): `Error.prepareStackTrace(error, callSites)`
// is honoured by `Error.captureStackTrace` and by an error's `stack`, over
// SpiderMonkey's `fn@file:line:col` traces. Frames of the bundle are named
// by the files they came from, under /var/task. `Error.stackTraceLimit` is
// 10, as in V8. The runtime's own traces read the engine's text (`rawStack`).

const ENGINE_STACK = Object.getOwnPropertyDescriptor(Error.prototype, 'stack');
const rawStack = (error) => (ENGINE_STACK?.get ? ENGINE_STACK.get.call(error) : error?.stack);

class CallSite {
  #where;
  #bundled;

  constructor(name, file, line, column, bundled) {
    this.name = name;
    this.#where = [file, line, column];
    this.#bundled = bundled;
  }

  // A bundle frame is looked up in the source map when first asked about.
  get #location() {
    if (this.#bundled) {
      this.#bundled = false;
      this.#where = sourceOf(this.#where[1], this.#where[2]) ?? this.#where;
    }
    return this.#where;
  }

  get file() {
    return this.#location[0];
  }

  get line() {
    return this.#location[1];
  }

  get column() {
    return this.#location[2];
  }

  getThis() {
    return undefined;
  }
  getTypeName() {
    return null;
  }
  getFunction() {
    return undefined;
  }
  getFunctionName() {
    return this.name || null;
  }
  getMethodName() {
    return null;
  }
  getFileName() {
    return this.file;
  }
  getScriptNameOrSourceURL() {
    return this.file;
  }
  getLineNumber() {
    return this.line;
  }
  getColumnNumber() {
    return this.column;
  }
  getEvalOrigin() {
    return undefined;
  }
  getPromiseIndex() {
    return null;
  }
  isToplevel() {
    return !this.name;
  }
  isEval() {
    return false;
  }
  isNative() {
    return false;
  }
  isConstructor() {
    return false;
  }
  isAsync() {
    return false;
  }
  isPromiseAll() {
    return false;
  }
  toString() {
    const where = `${this.file}:${this.line}:${this.column}`;
    return this.name ? `${this.name} (${where})` : where;
  }
}

function callSites(stack) {
  const sites = [];
  for (const line of String(stack ?? '').split('\n')) {
    const frame = /^(.*)@(.*):(\d+):(\d+)$/.exec(line);
    if (!frame) continue;
    const [, name, file, row, column] = frame;
    sites.push(new CallSite(name, file, Number(row), Number(column), BUNDLE_FRAME.test(line)));
  }
  return sites;
}

if (Error.stackTraceLimit === undefined) Error.stackTraceLimit = 10;

function prepared(error, sites) {
  const limit = Number(Error.stackTraceLimit);
  return Error.prepareStackTrace(error, Number.isFinite(limit) ? sites.slice(0, limit) : sites);
}

const engineCapture = Error.captureStackTrace;
Error.captureStackTrace = function captureStackTrace(target, constructorOpt) {
  if (typeof Error.prepareStackTrace !== 'function' && engineCapture) {
    engineCapture(target, constructorOpt);
    return;
  }
  // Without this frame, and without the frames up to `constructorOpt`
  // (by name: the engine's text has no function identities).
  let sites = callSites(rawStack(new Error())).slice(1);
  const above = constructorOpt?.name
    ? sites.findIndex((site) => site.name === constructorOpt.name)
    : -1;
  if (above >= 0) sites = sites.slice(above + 1);
  const stack =
    typeof Error.prepareStackTrace === 'function'
      ? prepared(target, sites)
      : sites.map((site) => `    at ${site}`).join('\n');
  Object.defineProperty(target, 'stack', {
    value: stack,
    writable: true,
    configurable: true,
    enumerable: false,
  });
};

if (ENGINE_STACK?.get) {
  // Prepared once per error, as V8 does.
  const preparedStacks = new WeakMap();
  let preparing = false;
  Object.defineProperty(Error.prototype, 'stack', {
    get() {
      if (preparedStacks.has(this)) return preparedStacks.get(this);
      const raw = ENGINE_STACK.get.call(this);
      if (typeof Error.prepareStackTrace !== 'function' || preparing || typeof raw !== 'string') {
        return raw;
      }
      preparing = true;
      try {
        const stack = prepared(this, callSites(raw));
        preparedStacks.set(this, stack);
        return stack;
      } finally {
        preparing = false;
      }
    },
    set: ENGINE_STACK.set,
    configurable: true,
    enumerable: ENGINE_STACK.enumerable,
  });
}

function isError(value) {
  return (
    value instanceof Error ||
    (typeof value === 'object' &&
      value !== null &&
      typeof value.message === 'string' &&
      'stack' in value)
  );
}

function failure(errorType, errorMessage, stackTrace) {
  return { errorType, errorMessage, stackTrace };
}

function toFailure(error, stagingRoot) {
  if (isError(error)) {
    const name = error.name ?? 'Error';
    return failure(name, error.message, [
      `${name}: ${error.message}`,
      ...nodeTrace(rawStack(error), stagingRoot),
    ]);
  }
  let message;
  try {
    message = String(error);
  } catch {
    message = Object.prototype.toString.call(error);
  }
  return failure(typeof error, message, []);
}

// Logs a failure as Lambda's Node.js runtime does and rejects with it.
function rejectWith(failed) {
  logFailure(failed);
  return Promise.reject(failed);
}

function logFailure(failed) {
  const trace = failed.stackTrace.length
    ? failed.stackTrace
    : [`${failed.errorType}: ${failed.errorMessage}`];
  if (readLogSettings().json) {
    write(
      JSON.stringify({
        timestamp: new Date().toISOString(),
        level: 'ERROR',
        requestId,
        tenantId,
        message: {
          errorType: failed.errorType,
          errorMessage: failed.errorMessage,
          stackTrace: trace,
        },
      }),
    );
    return;
  }
  write(
    `${new Date().toISOString()}\t${requestId}\tERROR\tInvoke Error \t${JSON.stringify({
      errorType: failed.errorType,
      errorMessage: failed.errorMessage,
      stack: trace,
    })}`,
  );
}

// ---------------------------------------------------------------------------
// Response streaming: the `awslambda` global of Lambda's Node.js runtime.
//
// `awslambda.streamifyResponse(handler)` marks a handler that takes
// `(event, responseStream, context)`; what it writes goes to the caller as
// it is written (`InvokeWithResponseStream`, a function URL in
// RESPONSE_STREAM mode), through the host's response-stream interface.

const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HTTP_INTEGRATION = 'application/vnd.awslambda.http-integration-response';
const encoder = new TextEncoder();

function chunkBytes(chunk, encoding) {
  if (typeof chunk === 'string') {
    if (encoding && encoding !== 'utf8' && encoding !== 'utf-8' && typeof Buffer !== 'undefined') {
      return new Uint8Array(Buffer.from(chunk, encoding));
    }
    return encoder.encode(chunk);
  }
  if (chunk instanceof Uint8Array) return chunk;
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (ArrayBuffer.isView(chunk))
    return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const error = new TypeError(
    `The "chunk" argument must be of type string or an instance of Buffer or Uint8Array. Received ${
      chunk === null ? 'null' : typeof chunk
    }`,
  );
  error.code = 'ERR_INVALID_ARG_TYPE';
  throw error;
}

// The writable end a streaming handler gets: the parts of Node's Writable
// that handlers use (write, end, setContentType, events).
class ResponseStream {
  constructor() {
    this.writable = true;
    this.writableEnded = false;
    this.writableFinished = false;
    this.destroyed = false;
    this.listeners = new Map();
    this.finished = new Promise((resolve, reject) => {
      this.resolveFinished = resolve;
      this.rejectFinished = reject;
    });
    // A failure the caller has not awaited yet is still reported by invoke.
    this.finished.catch(() => {});
  }

  setContentType(contentType) {
    streamContentType(String(contentType));
  }

  write(chunk, encoding, callback) {
    if (typeof encoding === 'function') [callback, encoding] = [encoding, undefined];
    if (this.writableEnded) {
      const error = new Error('write after end');
      error.code = 'ERR_STREAM_WRITE_AFTER_END';
      throw error;
    }
    const bytes = chunkBytes(chunk, encoding);
    if (bytes.length) streamWrite(bytes);
    if (typeof callback === 'function') queueMicrotask(callback);
    return true;
  }

  end(chunk, encoding, callback) {
    if (typeof chunk === 'function') [callback, chunk] = [chunk, undefined];
    if (typeof encoding === 'function') [callback, encoding] = [encoding, undefined];
    if (this.writableEnded) return this;
    if (chunk !== undefined && chunk !== null) this.write(chunk, encoding);
    this.writable = false;
    this.writableEnded = true;
    this.writableFinished = true;
    this.emit('finish');
    this.emit('close');
    this.resolveFinished();
    if (typeof callback === 'function') queueMicrotask(callback);
    return this;
  }

  destroy(error) {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.writable = false;
    if (error) {
      this.emit('error', error);
      this.rejectFinished(error);
    } else {
      this.end();
    }
    return this;
  }

  cork() {}

  uncork() {}

  on(name, listener) {
    if (!this.listeners.has(name)) this.listeners.set(name, []);
    this.listeners.get(name).push(listener);
    return this;
  }

  addListener(name, listener) {
    return this.on(name, listener);
  }

  once(name, listener) {
    const wrapped = (...args) => {
      this.off(name, wrapped);
      listener.apply(this, args);
    };
    return this.on(name, wrapped);
  }

  off(name, listener) {
    const list = this.listeners.get(name) ?? [];
    const at = list.indexOf(listener);
    if (at >= 0) list.splice(at, 1);
    return this;
  }

  removeListener(name, listener) {
    return this.off(name, listener);
  }

  emit(name, ...args) {
    const list = [...(this.listeners.get(name) ?? [])];
    for (const listener of list) listener.apply(this, args);
    return list.length > 0;
  }
}

globalThis.awslambda = {
  streamifyResponse(handler, options) {
    handler[STREAMING] = 'response';
    if (options?.highWaterMark !== undefined) handler.highWaterMark = options.highWaterMark;
    return handler;
  },
  HttpResponseStream: class HttpResponseStream {
    // Status, headers and cookies first, then eight NUL bytes, then the body:
    // what a function URL makes its response head from.
    static from(stream, prelude) {
      stream.setContentType(HTTP_INTEGRATION);
      stream.write(JSON.stringify(prelude ?? {}));
      stream.write(new Uint8Array(8));
      return stream;
    }
  },
};

function isStreaming(handler) {
  return handler[STREAMING] === 'response';
}

async function callStreaming(handler, event, context) {
  const stream = new ResponseStream();
  await handler(event, stream, context);
  if (!stream.writableEnded && !stream.destroyed) stream.end();
  await stream.finished;
  // Everything went through the stream; nothing follows it.
  return '';
}

// ---------------------------------------------------------------------------
// Invocation

const CALLBACK_MESSAGE =
  'ERROR: AWS Lambda has removed support for callback-based function handlers starting with Node.js 24. ' +
  'You need to modify this function to use a supported handler signature to use Node.js 24 or later. ' +
  'For more information see https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.';

// The Node.js version the function was built for (`wasm-lambda build
// --runtime nodejs20.x|nodejs22.x|nodejs24.x`), set by the build's entry.
function nodeMajor() {
  return globalThis.__wasmLambdaNodeMajor ?? 24;
}

function findHandler(module, handlerName) {
  const exportName = handlerName.slice(handlerName.lastIndexOf('.') + 1);
  const handler = module[exportName];
  if (typeof handler !== 'function') {
    return failure('Runtime.HandlerNotFound', `${handlerName} is undefined or not exported`, []);
  }
  if (handler.length >= 3 && !isStreaming(handler) && nodeMajor() >= 24) {
    return failure('Runtime.CallbackHandlerDeprecated', CALLBACK_MESSAGE, []);
  }
  return handler;
}

/**
 * Calls a handler as Lambda's Node.js 20 and 22 runtimes do: the answer is
 * the first of `callback(error, result)`, `context.done/succeed/fail`, or
 * the promise the handler returns (a callback handler may be async too).
 */
function callHandler(handler, event, context) {
  if (handler.length < 3) {
    return handler(event, context);
  }
  return new Promise((resolve, reject) => {
    let settled = false;
    const callback = (error, result) => {
      if (settled) return;
      settled = true;
      if (error !== null && error !== undefined) reject(error);
      else resolve(result);
    };
    context.done = callback;
    context.succeed = (result) => callback(null, result);
    context.fail = (error) => callback(error ?? new Error('handled'));
    const returned = handler(event, context, callback);
    if (returned && typeof returned.then === 'function') {
      returned.then(
        (value) => callback(null, value),
        (error) => callback(error),
      );
    }
  });
}

function marshal(value) {
  const text = JSON.stringify(value);
  return text === undefined ? 'null' : text;
}

// ---------------------------------------------------------------------------
// The init phase: the handler's module (and everything it imports) is
// evaluated here, not at build time, so its top-level code sees the
// function's environment, as on Lambda.

let handlerModule = undefined;

function loadHandler(load, commonjs) {
  return load().then((namespace) => {
    // A CommonJS module's exports are the bundle's default export.
    handlerModule = commonjs ? (namespace.default ?? {}) : namespace;
  });
}

/**
 * The component's `init` export: evaluates the handler's module once, when
 * the host loads the function, with its log lines kept and returned rather
 * than written (the host then snapshots the instance). Rejects with the
 * error's text when the module throws; the host then leaves the init phase
 * to each sandbox's first call.
 */
export function initPhase(load, commonjs) {
  initialising = true;
  initOutput = [];
  const finish = () => {
    initialising = false;
    // Each sandbox reads its own environment (log stream, trace id).
    cachedEnvironment = null;
    const lines = initOutput;
    initOutput = null;
    return lines;
  };
  return loadHandler(load, commonjs).then(
    () =>
      finish()
        .map((line) => `${line}\n`)
        .join(''),
    (error) => {
      finish();
      throw `${error?.name ?? 'Error'}: ${error?.message ?? error}`;
    },
  );
}

/**
 * The component's `handle` export: runs the init phase first when the host
 * did not (or could not keep it), then the handler.
 */
export function invokeHandler(load, commonjs, handlerName, stagingRoot, eventText, context) {
  if (handlerModule !== undefined) {
    return invoke(handlerModule, handlerName, stagingRoot, eventText, context);
  }
  startInvocation(context);
  return loadHandler(load, commonjs).then(
    () => invoke(handlerModule, handlerName, stagingRoot, eventText, context),
    (error) => rejectWith(toFailure(error, stagingRoot)),
  );
}

/**
 * Runs the handler once: returns a Promise of the payload text, rejected
 * with a `handler-error` record on failure.
 */
export function invoke(module, handlerName, stagingRoot, eventText, context) {
  startInvocation(context);
  const handler = findHandler(module, handlerName);
  if (typeof handler !== 'function') return rejectWith(handler);
  let result;
  const streaming = isStreaming(handler);
  try {
    result = streaming
      ? callStreaming(handler, JSON.parse(eventText), makeContext(context))
      : callHandler(handler, JSON.parse(eventText), makeContext(context));
  } catch (error) {
    return rejectWith(toFailure(error, stagingRoot));
  }
  return Promise.resolve(result).then(
    (value) => {
      try {
        return streaming ? value : marshal(value);
      } catch (error) {
        return rejectWith(toFailure(error, stagingRoot));
      }
    },
    (error) => rejectWith(toFailure(error, stagingRoot)),
  );
}
