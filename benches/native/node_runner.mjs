// Runs a Lambda Node.js handler once in this process, as a native baseline
// for cold starts: `node node_runner.mjs DIR EVENT_JSON`.
import { pathToFileURL } from 'node:url';
import { join, resolve } from 'node:path';

const [dir, event] = process.argv.slice(2);
const { handler } = await import(pathToFileURL(join(resolve(dir), 'index.mjs')).href);
console.log(JSON.stringify(await handler(JSON.parse(event), {})));
