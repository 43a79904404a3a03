// Builds a staged handler into a component with componentize-js, called by
// `wasm-lambda build` (the `jco componentize` CLI does not work on every
// machine, its API does):
//
//   node build.mjs <entry.mjs> <wit-folder> <out.wasm> [<world>]
//
// The world is `handler`, or `js-handler` (the handler world with WASI's
// filesystem) for code that uses the SDK's `fs`.
import { writeFile } from 'node:fs/promises';
import { componentize } from '@bytecodealliance/componentize-js';

const [sourcePath, witPath, out, worldName = 'handler'] = process.argv.slice(2);
if (!out) {
  console.error('usage: node build.mjs <entry.mjs> <wit-folder> <out.wasm> [<world>]');
  process.exit(2);
}
const { component } = await componentize({
  sourcePath,
  witPath,
  worldName,
  // `fetch` goes through wasi:http, which the host links for every handler
  // and checks against the function's allowed_outbound_hosts. Handlers are
  // not HTTP servers, so the incoming fetch event stays out.
  disableFeatures: ['fetch-event'],
});
await writeFile(out, component);
