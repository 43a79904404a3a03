// `timers/promises` (and `node:timers/promises`), which the timers port
// lacks: Node's promise forms of the timers, over the engine's own timers.

export function setTimeout(delay, value, options = {}) {
  return new Promise((resolve, reject) => {
    const signal = options.signal;
    if (signal?.aborted) {
      reject(signal.reason ?? new Error('The operation was aborted'));
      return;
    }
    const id = globalThis.setTimeout(() => resolve(value), delay);
    signal?.addEventListener?.('abort', () => {
      globalThis.clearTimeout(id);
      reject(signal.reason ?? new Error('The operation was aborted'));
    });
  });
}

export function setImmediate(value, options = {}) {
  return setTimeout(0, value, options);
}

export async function* setInterval(delay, value, options = {}) {
  while (!options.signal?.aborted) {
    yield await setTimeout(delay, value, options);
  }
}

export const scheduler = {
  wait: (delay, options) => setTimeout(delay, undefined, options),
  yield: () => setImmediate(),
};

export default { setTimeout, setImmediate, setInterval, scheduler };
