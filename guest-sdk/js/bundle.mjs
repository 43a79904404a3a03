// Bundles a handler module that Node.js would load as CommonJS, or that
// imports npm packages, into one ES module, with esbuild; called by
// `wasm-lambda build` before componentize-js:
//
//   node bundle.mjs <handler-file> <out.mjs> <code-root> [<node_modules folder> ...]
//
// An ES module keeps its named exports; a CommonJS module's output has one
// default export, its `module.exports`, so `exports.handler = ...` and
// `module.exports = { handler }` both work. Node's built-in modules are not
// available in the sandbox: importing one fails the build and says so.
import { build } from 'esbuild';

const [entry, outfile, root, ...nodePaths] = process.argv.slice(2);
if (!root) {
  console.error('usage: node bundle.mjs <handler-file> <out.mjs> <code-root> [<node_modules> ...]');
  process.exit(2);
}
try {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    // Packages as Node finds them: `main` for CommonJS packages, `module`
    // for packages that ship ES modules.
    mainFields: ['module', 'main'],
    conditions: ['node', 'require', 'import', 'default'],
    nodePaths,
    // Errors name the function's files as the user knows them.
    absWorkingDir: root,
    target: 'es2022',
    logLevel: 'silent',
  });
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
      .map((text) => `\n  ${text}`)
      .join('');
    console.error(`${where}${error.text ?? error.message}${notes}`);
  }
  process.exit(1);
}
