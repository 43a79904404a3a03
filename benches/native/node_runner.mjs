// Runs a Lambda Node.js handler once in this process, as a native baseline
// for cold starts: `node node_runner.mjs DIR [EVENT_JSON]`, the event from
// stdin when not given (as `wasm-lambda bench --vs-native` passes it).
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join, resolve } from 'node:path';

const [dir, argEvent] = process.argv.slice(2);
const event = argEvent ?? readFileSync(0, 'utf8');
const { handler } = await import(pathToFileURL(join(resolve(dir), 'index.mjs')).href);
console.log(JSON.stringify(await handler(JSON.parse(event), {})));
