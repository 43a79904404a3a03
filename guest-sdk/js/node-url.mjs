// `url` / `node:url` for bundled handlers: the port's legacy API (`parse`,
// `format`, `resolve`) and the WHATWG classes Node exports beside it, which
// the engine has as globals.
// By path: the name `url` itself is aliased to this very module.
import ported from './node_modules/url/url.js';

export const URL = globalThis.URL;
export const URLSearchParams = globalThis.URLSearchParams;
export const { parse, format, resolve, resolveObject, Url } = ported;

export default { ...ported, URL, URLSearchParams };
