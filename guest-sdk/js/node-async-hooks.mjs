// `async_hooks` (and `node:async_hooks`): `AsyncLocalStorage` and
// `AsyncResource`, which the X-Ray SDK, Powertools for TypeScript and
// middy's middlewares use to carry a request's state through its callbacks.
//
// Node.js keeps a context per asynchronous resource with engine hooks the
// sandbox's engine does not have. Here the context is one value, `current`
// (a map from each storage to its store), and it travels the ways a
// handler's work travels:
// - timers, `queueMicrotask`, `process.nextTick` and explicit `.then` /
//   `.catch` / `.finally` callbacks run in the context they were scheduled
//   in (the functions are wrapped when this module is first imported);
// - `run(store, fn)` whose `fn` returns a promise keeps the store until that
//   promise settles, so code after each `await` inside `fn` sees it, and
//   the previous context comes back when it settles.
// What this cannot do: two `run` calls whose async functions interleave
// across awaits share one context between their awaits (the later store is
// seen by both until one settles). One invocation per sandbox makes that
// rare; docs/javascript.md lists it.

/** The context now: storage -> store. Replaced, never changed in place. */
let current = new Map();
/**
 * The `run` call each context was made in (`enterWith` inside it makes a
 * context of the same run), so that the run's end undoes `enterWith` too.
 */
const runOf = new WeakMap();

/**
 * Runs `fn` with `context` as the current context, then puts back the old
 * one: at once, or when the promise `fn` returns settles, so that the code
 * after each `await` in an async `fn` sees the context too. Other thenables
 * are not waited for: calling `then` on one may start work (a query builder
 * runs its query).
 */
function within(context, fn, thisArg, args) {
  const previous = current;
  // A context of its own, so that each call is undone by its own end (a
  // bound callback runs in the same context many times).
  const entered = new Map(context);
  const run = {};
  runOf.set(entered, run);
  current = entered;
  let result;
  try {
    result = Reflect.apply(fn, thisArg, args);
  } catch (error) {
    current = previous;
    throw error;
  }
  if (!(result instanceof Promise)) {
    current = previous;
    return result;
  }
  const restore = () => {
    if (runOf.get(current) === run) current = previous;
  };
  Reflect.apply(then, result, [restore, restore]);
  return result;
}

/** `fn` bound to the context now, as Node's resources bind callbacks. */
function bound(fn) {
  if (typeof fn !== 'function') return fn;
  const context = current;
  return function (...args) {
    return within(context, fn, this, args);
  };
}

// Scheduling functions carry the context of the code that scheduled.
for (const name of ['setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask']) {
  const original = globalThis[name];
  if (typeof original !== 'function' || original.__wasmLambdaContext) continue;
  const wrapped = function (callback, ...rest) {
    return Reflect.apply(original, this, [bound(callback), ...rest]);
  };
  // Keep what Node's timers carry (`util.promisify.custom`).
  Object.assign(wrapped, original);
  for (const symbol of Object.getOwnPropertySymbols(original)) wrapped[symbol] = original[symbol];
  wrapped.__wasmLambdaContext = true;
  globalThis[name] = wrapped;
}
const then = Promise.prototype.then;
if (!then.__wasmLambdaContext) {
  const contextThen = function (onFulfilled, onRejected) {
    return Reflect.apply(then, this, [bound(onFulfilled), bound(onRejected)]);
  };
  contextThen.__wasmLambdaContext = true;
  Object.defineProperty(Promise.prototype, 'then', {
    value: contextThen,
    writable: true,
    configurable: true,
    enumerable: false,
  });
}

export class AsyncLocalStorage {
  #defaultValue;

  constructor(options = {}) {
    this.#defaultValue = options.defaultValue;
    this.name = options.name ?? '';
  }

  static bind(fn) {
    return bound(fn);
  }

  static snapshot() {
    const context = current;
    return (fn, ...args) => within(context, fn, undefined, args);
  }

  getStore() {
    return current.has(this) ? current.get(this) : this.#defaultValue;
  }

  enterWith(store) {
    const context = new Map(current).set(this, store);
    if (runOf.has(current)) runOf.set(context, runOf.get(current));
    current = context;
  }

  run(store, fn, ...args) {
    return within(new Map(current).set(this, store), fn, undefined, args);
  }

  exit(fn, ...args) {
    const context = new Map(current);
    context.delete(this);
    return within(context, fn, undefined, args);
  }

  disable() {
    if (!current.has(this)) return;
    const context = new Map(current);
    context.delete(this);
    current = context;
  }
}

let nextAsyncId = 1;

export class AsyncResource {
  #context = current;
  #asyncId = ++nextAsyncId;
  #triggerAsyncId;

  constructor(type, options = {}) {
    if (typeof type !== 'string' || type === '') {
      throw new TypeError('The "type" argument must be of type string');
    }
    this.type = type;
    this.#triggerAsyncId =
      typeof options === 'number' ? options : (options.triggerAsyncId ?? executionAsyncId());
  }

  static bind(fn, type, thisArg) {
    return new AsyncResource(type ?? (fn.name || 'bound-anonymous-fn')).bind(fn, thisArg);
  }

  runInAsyncScope(fn, thisArg, ...args) {
    return within(this.#context, fn, thisArg, args);
  }

  bind(fn, thisArg) {
    const resource = this;
    const wrapper = function (...args) {
      return resource.runInAsyncScope(fn, thisArg === undefined ? this : thisArg, ...args);
    };
    Object.defineProperty(wrapper, 'length', { value: fn.length, configurable: true });
    return wrapper;
  }

  emitDestroy() {
    return this;
  }

  asyncId() {
    return this.#asyncId;
  }

  triggerAsyncId() {
    return this.#triggerAsyncId;
  }
}

// The hooks API: ids and an inert `createHook`, for code that only feature-
// tests it (the sandbox's engine reports no resource lifecycles).
export function executionAsyncId() {
  return 1;
}

export function triggerAsyncId() {
  return 0;
}

export function executionAsyncResource() {
  return {};
}

export function createHook() {
  return {
    enable() {
      return this;
    },
    disable() {
      return this;
    },
  };
}

export const asyncWrapProviders = Object.freeze({});

export default {
  AsyncLocalStorage,
  AsyncResource,
  executionAsyncId,
  triggerAsyncId,
  executionAsyncResource,
  createHook,
  asyncWrapProviders,
};
