// The engine has no `Intl` at all; FormatJS's polyfills add their parts to
// an existing one. Imported first by node-intl.mjs.
if (typeof globalThis.Intl === 'undefined') {
  globalThis.Intl = {};
}
