// `require('process')` / `import process from 'node:process'`: the same
// object as the global `process` the runtime sets up (its `env` is the
// invocation's environment).
export default globalThis.process;
export const { env, nextTick, hrtime, argv, version, versions, platform } = globalThis.process;
