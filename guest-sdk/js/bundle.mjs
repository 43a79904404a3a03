// Bundles a handler module (CommonJS or ES module, with its npm packages)
// into one ES module whose `load()` evaluates it on demand, with esbuild;
// called by `wasm-lambda build` before componentize-js:
//
//   node bundle.mjs <handler-file> <out.mjs> <code-root> [<node_modules folder> ...]
//
// `load()` resolves to the module's namespace: an ES module's named exports,
// or for a CommonJS module a default export, its `module.exports`, so
// `exports.handler = ...` and `module.exports = { handler }` both work.
//
// Node.js built-ins that handlers use come from the long-standing browser
// ports of Node's modules (the ones bundlers have used for years), pinned
// in package.json: `buffer` (also as the global `Buffer`), `events`, `util`,
// `path`, `url`, `querystring`, `string_decoder`, `assert`, `stream`,
// `zlib`, `crypto` (crypto-browserify, with Node's newer `randomUUID`,
// `timingSafeEqual` and `webcrypto` on top of the engine's Web Crypto),
// `os`, `timers`, `process`, with or without `node:`; the SDK's
// `async_hooks`, `console`, `http`, `http2` (its constants and helpers; a
// session cannot be opened), `https` and `net` (node-*.mjs); `stream` is
// readable-stream 4, with `stream/promises`; `util/types`; and the SDK's
// own `timers/promises`; and the SDK's `fs` and `fs/promises` over WASI's
// filesystem (node-fs.mjs). Other built-ins (`child_process`, `dgram`, ...)
// fail the build.
import { build } from 'esbuild';
import { readFile, realpath, writeFile } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = (file) => fileURLToPath(new URL(file, import.meta.url));
const resolveHere = createRequire(import.meta.url).resolve;

const PORTS = {
  buffer: 'buffer/',
  events: 'events/',
  util: 'util/',
  path: 'path-browserify',
  querystring: 'querystring-es3',
  string_decoder: 'string_decoder/',
  assert: 'assert/',
  // readable-stream 4 is Node 18's stream module (Readable.from,
  // stream/promises), ported.
  stream: 'readable-stream/lib/ours/browser.js',
  zlib: 'browserify-zlib',
  os: 'os-browserify/browser',
  timers: 'timers-browserify',
};
const alias = {};
for (const [name, port] of Object.entries(PORTS)) {
  alias[name] = resolveHere(port);
  alias[`node:${name}`] = alias[name];
}
// `inherits` asks for Node's own `util` first; here that is the port,
// which asks for `inherits` in turn, and the cycle leaves `util.inherits`
// empty. Its browser build is what browser bundlers give it too.
alias.inherits = resolveHere('inherits/inherits_browser.js');
// Subpath modules Node.js has and the ports name differently.
const SUBPATHS = {
  'stream/promises': resolveHere('readable-stream/lib/stream/promises.js'),
  'util/types': resolveHere('util/support/types.js'),
  'timers/promises': here('./node-timers-promises.mjs'),
};
for (const [name, file] of Object.entries(SUBPATHS)) {
  alias[name] = file;
  alias[`node:${name}`] = file;
}
alias.process = here('./node-process.mjs');
alias['node:process'] = alias.process;
alias.crypto = here('./node-crypto.mjs');
alias['node:crypto'] = alias.crypto;
alias.url = here('./node-url.mjs');
alias['node:url'] = alias.url;
// The SDK's own modules for built-ins the ports do not cover.
const OWN = {
  async_hooks: './node-async-hooks.mjs',
  console: './node-console.mjs',
  http: './node-http.mjs',
  http2: './node-http2.mjs',
  https: './node-https.mjs',
  net: './node-net.mjs',
};
for (const [name, file] of Object.entries(OWN)) {
  alias[name] = here(file);
  alias[`node:${name}`] = alias[name];
}
alias.fs = here('./node-fs.mjs');
alias['node:fs'] = alias.fs;
alias['fs/promises'] = here('./node-fs-promises.mjs');
alias['node:fs/promises'] = alias['fs/promises'];
// The function's small files for `fs` during initialisation, written by the
// build (an empty table without it).
alias.__wasm_lambda_files = process.env.WASM_LAMBDA_FILES ?? here('./node-fs-none.mjs');
alias.__wasm_lambda_fs_streams = process.env.WASM_LAMBDA_FS_STREAMS
  ? here('./node-fs-streams.mjs')
  : here('./node-fs-streams-none.mjs');

// CommonJS code finds its files with `__dirname` and `__filename`, which an
// ES module bundle does not have: each of the function's own CommonJS files
// gets them as Lambda would set them, under /var/task, on its first line
// (so line numbers in stack traces stay right).
const TASK_ROOT = '/var/task';
const commonJsPaths = {
  name: 'commonjs-paths',
  setup(builder) {
    builder.onLoad({ filter: /\.(c?js)$/ }, async (args) => {
      const root = builder.initialOptions.absWorkingDir;
      if (!args.path.startsWith(`${root}/`) || args.path.includes('/node_modules/')) {
        return undefined;
      }
      const text = await readFile(args.path, 'utf8');
      // ES modules have neither (and often declare their own).
      const esModule = /^\s*(import|export)\b[^(]/m.test(text) || text.includes('import.meta');
      if (esModule || (!text.includes('__dirname') && !text.includes('__filename'))) {
        return undefined;
      }
      const file = `${TASK_ROOT}/${args.path.slice(root.length + 1)}`;
      const paths =
        `var __filename = ${JSON.stringify(file)}, ` +
        `__dirname = ${JSON.stringify(dirname(file))};`;
      return { contents: paths + text, loader: 'js' };
    });
  },
};

// The AWS SDK for JavaScript v3 as Lambda's Node.js runtime configures it
// (see aws-sdk-lambda.mjs): each client's browser configuration gets the
// region and credentials from the environment, the endpoint lookup
// reads AWS_ENDPOINT_URL as the Node.js build does, and the Node.js
// streams a `NodeHttpHandler` answers with become web streams.
const lambdaSdk = JSON.stringify(here('./aws-sdk-lambda.mjs'));
const lambdaBody = JSON.stringify(here('./aws-sdk-body.mjs'));
const awsSdkForLambda = {
  name: 'aws-sdk-for-lambda',
  setup(builder) {
    builder.onLoad(
      { filter: /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]runtimeConfig\.browser\.js$/ },
      async (args) => {
        const text = await readFile(args.path, 'utf8');
        const renamed = text.replace(
          'export const getRuntimeConfig =',
          'const getBrowserRuntimeConfig =',
        );
        if (renamed === text) {
          return undefined;
        }
        return {
          contents:
            `${renamed}\nimport { lambdaDefaults as __lambdaDefaults, lambdaStreams as __lambdaStreams } from ${lambdaSdk};\n` +
            'export const getRuntimeConfig = (config) =>\n' +
            '  __lambdaStreams(getBrowserRuntimeConfig(__lambdaDefaults(config)), config);\n',
          loader: 'js',
          resolveDir: dirname(args.path),
        };
      },
    );
    // S3's `Body` and the other streamed payloads: a Node.js Readable with
    // the SDK's helpers, as on Lambda (aws-sdk-body.mjs says why).
    builder.onLoad({ filter: /[\\/]sdk-stream-mixin\.browser\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      const renamed = text.replace(
        'export const sdkStreamMixin =',
        'const browserSdkStreamMixin =',
      );
      if (renamed === text) {
        return undefined;
      }
      return {
        contents:
          `${renamed}\nimport { nodeBody as __nodeBody } from ${lambdaBody};\n` +
          'export const sdkStreamMixin = (stream) => __nodeBody(browserSdkStreamMixin(stream));\n',
        loader: 'js',
        resolveDir: dirname(args.path),
      };
    });
    builder.onLoad({ filter: /[\\/]getEndpointFromConfig\.browser\.js$/ }, () => ({
      contents: `export { endpointFromEnvironment as getEndpointFromConfig } from ${lambdaSdk};\n`,
      loader: 'js',
    }));
  },
};

// What: the `util` port (util 0.12.5) makes `util.promisify.custom` a
// symbol of its own, so the promise forms Node's functions carry under
// `Symbol.for('nodejs.util.promisify.custom')` (setTimeout, setImmediate,
// and any package that sets one) are not found and `promisify` wraps them
// as callback functions, which never call back. The port is given Node's
// symbol. Upstream: https://github.com/browserify/node-util (its
// util.js). Drop it when the port uses `Symbol.for`. The build fails if
// the text is not found (a port update would otherwise undo it quietly);
// the JS tests build with it.
const UTIL_PORT = resolveHere('util/');
const UTIL_SYMBOL = "Symbol('util.promisify.custom')";
const nodePromisifySymbol = {
  name: 'node-promisify-symbol',
  setup(builder) {
    builder.onLoad({ filter: /[\\/]util[\\/]util\.js$/ }, async (args) => {
      if (args.path !== UTIL_PORT) return undefined;
      const text = await readFile(args.path, 'utf8');
      if (!text.includes(UTIL_SYMBOL)) {
        throw new Error(`${UTIL_PORT} no longer makes ${UTIL_SYMBOL}: review bundle.mjs's patch`);
      }
      return {
        contents: text.replace(UTIL_SYMBOL, "Symbol.for('nodejs.util.promisify.custom')"),
        loader: 'js',
        resolveDir: dirname(args.path),
      };
    });
  },
};

// iconv-lite (under body-parser, so under Express and most of its apps)
// leaves its stream and Buffer extensions out of browser builds, then calls
// them when `process.versions.node` is set, as it is in the sandbox (as on
// Lambda). They need only `buffer` and `stream`, which the bundle has: they
// are bundled instead of left out.
const iconvNodeParts = {
  name: 'iconv-lite-node-parts',
  setup(builder) {
    builder.onResolve({ filter: /^\.\/(streams|extend-node)$/ }, (args) => {
      if (!/[\\/]iconv-lite[\\/]lib$/.test(args.resolveDir)) return undefined;
      return { path: join(args.resolveDir, `${args.path.slice(2)}.js`) };
    });
  },
};

// The source map as runtime.mjs reads it when it names a stack frame's
// file: each bundle line's mappings apart (`lines`), with the source, line
// and column that the mappings carry into that line (`carried`, three
// numbers a line; mappings are relative across lines). Worked out here, so
// the sandbox decodes one line per frame: decoding the whole map there took
// seconds and most of a 128 MB function's memory for a bundle with Express
// or Koa.
const VLQ = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
function indexedMap(map) {
  const lines = String(map.mappings ?? '').split(';');
  const carried = [];
  const state = [0, 0, 0, 0];
  for (const line of lines) {
    carried.push(state[1], state[2], state[3]);
    for (const segment of line.split(',')) {
      let field = 0;
      let value = 0;
      let shift = 0;
      for (const char of segment) {
        const digit = VLQ.indexOf(char);
        value += (digit & 31) << shift;
        if (digit & 32) {
          shift += 5;
        } else {
          if (field >= 1 && field < 4) state[field] += value & 1 ? -(value >>> 1) : value >>> 1;
          field += 1;
          value = 0;
          shift = 0;
        }
      }
    }
  }
  return { sources: map.sources, lines, carried };
}

const [entry, outfile, root, ...nodePaths] = process.argv.slice(2);
if (!root) {
  console.error('usage: node bundle.mjs <handler-file> <out.mjs> <code-root> [<node_modules> ...]');
  process.exit(2);
}

// A build reads nothing of the building machine outside the function's
// code, the folders packages are found in (the project's, the layers', the
// AWS SDK's) and the SDK itself: an import of an absolute path
// (`import secret from '/etc/passwd' with { type: 'text' }`), one that
// climbs out with `../`, or a package linked to a folder elsewhere is
// refused, by where the file really is (esbuild follows links before it
// loads). Registered first, so no other plugin loads a file before it is
// checked. Enforced by the build_isolation tests.
const allowedRoots = await Promise.all(
  [
    root,
    ...nodePaths,
    here('.'),
    ...(process.env.WASM_LAMBDA_FILES ? [dirname(process.env.WASM_LAMBDA_FILES)] : []),
  ].map(async (folder) => {
    try {
      return `${(await realpath(folder)).replace(/[\\/]+$/, '')}${sep}`;
    } catch {
      return null;
    }
  }),
);
const confined = {
  name: 'confined-to-the-function',
  setup(builder) {
    builder.onLoad({ filter: /.*/ }, async (args) => {
      if (args.namespace !== 'file') {
        return undefined;
      }
      let real;
      try {
        real = await realpath(args.path);
      } catch {
        return undefined;
      }
      if (allowedRoots.some((allowed) => allowed && real.startsWith(allowed))) {
        return undefined;
      }
      return {
        errors: [
          {
            text:
              `${args.path} is outside the function's folder: a build reads only the ` +
              "function's own files, its packages, its layers and the SDK",
          },
        ],
      };
    });
  },
};
try {
  await build({
    // The bundle exports `load()`, which evaluates the handler's module when
    // called (the init phase, at load or first call) rather than when the
    // bundle is: esbuild inlines a dynamic import as a lazily run module.
    stdin: {
      contents: `export function load() { return import(${JSON.stringify(entry)}); }\n`,
      resolveDir: root,
      sourcefile: '__wasm_lambda_deferred.mjs',
      loader: 'js',
    },
    outfile,
    bundle: true,
    format: 'esm',
    // The sandbox is closer to a browser than to Node (fetch and Web Crypto,
    // no sockets or files): packages' browser builds are the ones that run,
    // and the ports of Node's modules depend on them (their Node builds
    // only re-export Node's own modules).
    platform: 'browser',
    mainFields: ['browser', 'module', 'main'],
    // `import` or `require` is added by the kind of each import, as Node
    // resolves (naming both would hand `require()` a package's ES module
    // build, whose default export it then cannot call).
    conditions: ['browser', 'module'],
    nodePaths,
    alias,
    inject: [
      ...(process.env.WASM_LAMBDA_NODE_GLOBALS ? [here('./node-globals.mjs')] : []),
      ...(process.env.WASM_LAMBDA_INTL ? [here('./node-intl.mjs')] : []),
    ],
    plugins: [confined, nodePromisifySymbol, iconvNodeParts, awsSdkForLambda, commonJsPaths],
    // The SDK's own imports of the host's interfaces stay imports.
    external: ['wasi:*', 'wasm-lambda:*'],
    // The ports read `global` and `process.env.NODE_DEBUG` as Node code does.
    define: { global: 'globalThis' },
    // Errors name the function's files as the user knows them.
    absWorkingDir: root,
    target: 'es2022',
    logLevel: 'silent',
    // Stack traces name the function's files and lines, not the bundle's
    // (runtime.mjs maps them back with this map).
    sourcemap: 'external',
    sourcesContent: false,
  });
  const map = JSON.parse(await readFile(`${outfile}.map`, 'utf8'));
  await writeFile(
    join(dirname(outfile), '__wasm_lambda_sourcemap.mjs'),
    `export default ${JSON.stringify(indexedMap(map))};\n`,
  );
} catch (failure) {
  for (const error of failure.errors ?? [failure]) {
    const where = error.location
      ? `${error.location.file}:${error.location.line}:${error.location.column}: `
      : '';
    // esbuild's advice for a Node.js built-in (bundle for Node) does not
    // apply in the sandbox; say what does.
    const notes = (error.notes ?? [])
      .map((note) =>
        note.text.includes('built into node')
          ? 'It is a Node.js built-in module, which wasm-lambda does not provide yet.'
          : note.text,
      )
      .concat(
        /No loader is configured for "\.node" files/.test(error.text ?? '')
          ? ['It is a native addon, which cannot run in the sandbox.']
          : [],
      )
      .map((text) => `\n  ${text}`)
      .join('');
    console.error(`${where}${error.text ?? error.message}${notes}`);
  }
  process.exit(1);
}
