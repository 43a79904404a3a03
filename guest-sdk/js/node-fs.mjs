// Node's `fs` (and `fs/promises`) over WASI 0.2's filesystem, for the files
// a Lambda handler reads and writes: its own code and data under /var/task
// (packed into the component by `wasm-lambda build`), folders the function
// mounts (/opt) and its /tmp. The calls are synchronous underneath; the
// callback and promise forms wrap them. Errors carry Node's `code`, `errno`,
// `syscall` and `path`, and read as Node's do.
import { getDirectories } from 'wasi:filesystem/preopens@0.2.12';
import { Buffer } from 'buffer';
// The function's small files, embedded by the build (path under /var/task
// -> base64): a module's top-level code runs while the component is built,
// where no file can be opened, and handlers read their configuration there.
import embedded from '__wasm_lambda_files';

// Lambda starts handlers in the task root.
const CWD = '/var/task';

const ERRORS = {
  'no-entry': ['ENOENT', -2, 'no such file or directory'],
  access: ['EACCES', -13, 'permission denied'],
  'not-permitted': ['EPERM', -1, 'operation not permitted'],
  'is-directory': ['EISDIR', -21, 'illegal operation on a directory'],
  'not-directory': ['ENOTDIR', -20, 'not a directory'],
  exist: ['EEXIST', -17, 'file already exists'],
  'read-only': ['EROFS', -30, 'read-only file system'],
  'insufficient-space': ['ENOSPC', -28, 'no space left on device'],
  'not-empty': ['ENOTEMPTY', -39, 'directory not empty'],
  invalid: ['EINVAL', -22, 'invalid argument'],
};

function nodeError(kind, syscall, path) {
  const [code, errno, text] = ERRORS[kind] ?? ['EIO', -5, `i/o error (${kind})`];
  const error = new Error(`${code}: ${text}, ${syscall} '${path}'`);
  Object.assign(error, { errno, code, syscall, path });
  return error;
}

// Runs a WASI call, turning its error code into Node's error.
function wasi(syscall, path, call) {
  try {
    return call();
  } catch (error) {
    const kind = typeof error?.payload === 'string' ? error.payload : null;
    if (kind === null) throw error;
    throw nodeError(kind, syscall, path);
  }
}

// A call that changes the filesystem: outside /tmp, the folders are
// read-only, and Lambda says so with EROFS.
function change(syscall, path, call) {
  try {
    return wasi(syscall, path, call);
  } catch (error) {
    const inTmp = absolute(path) === '/tmp' || absolute(path).startsWith('/tmp/');
    if (!inTmp && (error.code === 'EPERM' || error.code === 'EACCES')) {
      throw nodeError('read-only', syscall, path);
    }
    throw error;
  }
}

function toPathString(path) {
  if (path instanceof URL) return decodeURIComponent(path.pathname);
  if (path instanceof Uint8Array) return new TextDecoder().decode(path);
  if (typeof path !== 'string') {
    const error = new TypeError(
      `The "path" argument must be of type string or an instance of Buffer or URL. Received ${typeof path}`,
    );
    error.code = 'ERR_INVALID_ARG_TYPE';
    throw error;
  }
  return path;
}

// An absolute, normalised path.
function absolute(path) {
  const text = toPathString(path);
  const parts = [];
  for (const part of (text.startsWith('/') ? text : `${CWD}/${text}`).split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

let preopens = null;

// Whether the module is being initialised at build time (the runtime sets
// the flag when the first invocation starts).
const initialising = () => !globalThis.__wasmLambdaState?.running;

// During initialisation: the embedded files, and the folders they are in.
function embeddedEntry(path, syscall) {
  const full = absolute(path);
  const prefix = `${CWD}/`;
  const inside = full === CWD ? '' : full.startsWith(prefix) ? full.slice(prefix.length) : null;
  if (inside !== null && Object.hasOwn(embedded, inside)) {
    return { file: true, data: Buffer.from(embedded[inside], 'base64') };
  }
  if (inside !== null) {
    const children = new Set();
    for (const name of Object.keys(embedded)) {
      if (inside === '' || name.startsWith(`${inside}/`)) {
        children.add(name.slice(inside === '' ? 0 : inside.length + 1).split('/')[0]);
      }
    }
    if (children.size) return { file: false, children: [...children].sort() };
  }
  const error = nodeError('no-entry', syscall, toPathString(path));
  error.message +=
    ' (module-level code runs while `wasm-lambda build` makes the component: only the ' +
    "function's own files of up to 256 KB are readable there; read others in the handler)";
  throw error;
}

// The preopened folder holding `path` and the path inside it.
function locate(path, syscall) {
  const full = absolute(path);
  preopens ??= getDirectories().sort(([, a], [, b]) => b.length - a.length);
  for (const [descriptor, root] of preopens) {
    if (full === root || root === '/' || full.startsWith(`${root}/`)) {
      const inside = full.slice(root === '/' ? 1 : root.length + 1);
      return { descriptor, inside: inside === '' ? '.' : inside, full };
    }
  }
  throw nodeError('no-entry', syscall, toPathString(path));
}

const FOLLOW = { symlinkFollow: true };

function open(path, syscall, openFlags, descriptorFlags) {
  const { descriptor, inside } = locate(path, syscall);
  const run = descriptorFlags.write ? change : wasi;
  return run(syscall, toPathString(path), () =>
    descriptor.openAt(FOLLOW, inside, openFlags, descriptorFlags),
  );
}

function encodingOf(options) {
  if (typeof options === 'string') return options;
  return options?.encoding ?? null;
}

function readAll(file, path) {
  const chunks = [];
  let offset = 0n;
  for (;;) {
    const [bytes, end] = wasi('read', path, () => file.read(65536n, offset));
    if (bytes.length) chunks.push(bytes);
    offset += BigInt(bytes.length);
    if (end || bytes.length === 0) break;
  }
  return Buffer.concat(
    chunks.map((chunk) => Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length)),
  );
}

export function readFileSync(path, options) {
  const name = toPathString(path);
  if (initialising()) {
    const entry = embeddedEntry(path, 'open');
    if (!entry.file) throw nodeError('is-directory', 'read', name);
    const encoding = encodingOf(options);
    return encoding ? entry.data.toString(encoding) : entry.data;
  }
  const file = open(path, 'open', {}, { read: true });
  const type = wasi('read', name, () => file.getType());
  if (type === 'directory') throw nodeError('is-directory', 'read', name);
  const data = readAll(file, name);
  const encoding = encodingOf(options);
  return encoding ? data.toString(encoding) : data;
}

function bytesOf(data, options) {
  if (typeof data === 'string') return Buffer.from(data, encodingOf(options) ?? 'utf8');
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data))
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(String(data));
}

function writeAt(file, bytes, offset, path) {
  let written = 0;
  while (written < bytes.length) {
    const count = wasi('write', path, () =>
      file.write(bytes.subarray(written), offset + BigInt(written)),
    );
    written += Number(count);
  }
}

export function writeFileSync(path, data, options) {
  const name = toPathString(path);
  const append = (typeof options === 'object' && options?.flag?.startsWith('a')) ?? false;
  const file = open(
    path,
    'open',
    { create: true, truncate: !append },
    { write: true, read: append },
  );
  const offset = append ? wasi('stat', name, () => file.stat()).size : 0n;
  writeAt(file, bytesOf(data, options), offset, name);
}

export function appendFileSync(path, data, options) {
  writeFileSync(path, data, {
    ...(typeof options === 'string' ? { encoding: options } : options),
    flag: 'a',
  });
}

// `createReadStream` and `createWriteStream` (node-fs-streams.mjs), or
// stand-ins that say why they are missing: the streams need the `stream`
// port, about 2 MB of component, so the build puts them in only where the
// function's code names them or it brings packages (js.rs decides).
export { createReadStream, createWriteStream } from '__wasm_lambda_fs_streams';
import { createReadStream, createWriteStream } from '__wasm_lambda_fs_streams';

const TYPES = {
  'regular-file': 'file',
  directory: 'directory',
  'symbolic-link': 'link',
};

function toDate(timestamp) {
  if (!timestamp) return new Date(0);
  return new Date(Number(timestamp.seconds) * 1000 + Math.floor(timestamp.nanoseconds / 1e6));
}

// What Stats and Dirent answer about the kind of entry.
class Kind {
  isFile() {
    return this.kind === 'file';
  }

  isDirectory() {
    return this.kind === 'directory';
  }

  isSymbolicLink() {
    return this.kind === 'link';
  }
}

class Stats extends Kind {
  constructor(stat) {
    super();
    this.size = Number(stat.size);
    this.nlink = Number(stat.linkCount);
    this.mtime = toDate(stat.dataModificationTimestamp);
    this.atime = toDate(stat.dataAccessTimestamp);
    this.ctime = toDate(stat.statusChangeTimestamp);
    this.birthtime = this.ctime;
    this.mtimeMs = this.mtime.getTime();
    this.atimeMs = this.atime.getTime();
    this.ctimeMs = this.ctime.getTime();
    this.kind = TYPES[stat.type] ?? 'other';
  }
}

export function statSync(path, options) {
  const name = toPathString(path);
  try {
    if (initialising()) {
      const entry = embeddedEntry(path, 'stat');
      return new Stats({
        type: entry.file ? 'regular-file' : 'directory',
        size: BigInt(entry.file ? entry.data.length : 0),
        linkCount: 1n,
      });
    }
    const { descriptor, inside } = locate(path, 'stat');
    return new Stats(wasi('stat', name, () => descriptor.statAt(FOLLOW, inside)));
  } catch (error) {
    if (options?.throwIfNoEntry === false && error.code === 'ENOENT') return undefined;
    throw error;
  }
}

export const lstatSync = statSync;

function existsAsFile(path) {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function existsSync(path) {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

export function accessSync(path) {
  statSync(path);
}

class Dirent extends Kind {
  constructor(name, type, parentPath) {
    super();
    this.name = name;
    this.parentPath = parentPath;
    this.path = parentPath;
    this.kind = TYPES[type] ?? 'other';
  }
}

export function readdirSync(path, options) {
  const name = toPathString(path);
  if (initialising()) {
    const entry = embeddedEntry(path, 'scandir');
    if (entry.file) throw nodeError('not-directory', 'scandir', name);
    if (options?.withFileTypes) {
      return entry.children.map((child) => {
        const kind = existsAsFile(`${absolute(path)}/${child}`) ? 'regular-file' : 'directory';
        return new Dirent(child, kind, absolute(path));
      });
    }
    return entry.children;
  }
  const folder = open(path, 'scandir', { directory: true }, { read: true });
  const entries = wasi('scandir', name, () => folder.readDirectory());
  const found = [];
  for (;;) {
    const entry = wasi('scandir', name, () => entries.readDirectoryEntry());
    if (!entry) break;
    found.push(entry);
  }
  found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (options?.withFileTypes)
    return found.map((entry) => new Dirent(entry.name, entry.type, absolute(path)));
  return found.map((entry) => entry.name);
}

export function mkdirSync(path, options) {
  const recursive = typeof options === 'object' && options?.recursive;
  const full = absolute(path);
  if (!recursive) {
    const { descriptor, inside } = locate(full, 'mkdir');
    change('mkdir', toPathString(path), () => descriptor.createDirectoryAt(inside));
    return undefined;
  }
  let made;
  let sofar = '';
  for (const part of full.split('/').slice(1)) {
    sofar += `/${part}`;
    if (existsSync(sofar)) continue;
    const { descriptor, inside } = locate(sofar, 'mkdir');
    change('mkdir', sofar, () => descriptor.createDirectoryAt(inside));
    made ??= sofar;
  }
  return made;
}

export function unlinkSync(path) {
  const { descriptor, inside } = locate(path, 'unlink');
  change('unlink', toPathString(path), () => descriptor.unlinkFileAt(inside));
}

export function rmdirSync(path) {
  const { descriptor, inside } = locate(path, 'rmdir');
  change('rmdir', toPathString(path), () => descriptor.removeDirectoryAt(inside));
}

export function rmSync(path, options) {
  const stats = statSync(path, { throwIfNoEntry: !options?.force });
  if (!stats) return;
  if (stats.isDirectory()) {
    if (!options?.recursive) throw nodeError('is-directory', 'rm', toPathString(path));
    for (const child of readdirSync(path)) rmSync(`${absolute(path)}/${child}`, options);
    rmdirSync(path);
  } else {
    unlinkSync(path);
  }
}

export const constants = { F_OK: 0, R_OK: 4, W_OK: 2, X_OK: 1 };
export const F_OK = 0;
export const R_OK = 4;
export const W_OK = 2;
export const X_OK = 1;

// The promise forms: the same calls, settled on the next turn.
const promised =
  (call) =>
  (...args) =>
    new Promise((resolve, reject) => {
      try {
        resolve(call(...args));
      } catch (error) {
        reject(error);
      }
    });

export const promises = {
  readFile: promised(readFileSync),
  writeFile: promised(writeFileSync),
  appendFile: promised(appendFileSync),
  stat: promised(statSync),
  lstat: promised(statSync),
  readdir: promised(readdirSync),
  mkdir: promised(mkdirSync),
  unlink: promised(unlinkSync),
  rmdir: promised(rmdirSync),
  rm: promised(rmSync),
  access: promised(accessSync),
  constants,
};

// The callback forms: `(..., callback(error, value))`, called asynchronously.
const callbacked =
  (call) =>
  (...args) => {
    const callback = args.pop();
    if (typeof callback !== 'function') {
      const error = new TypeError('The "cb" argument must be of type function');
      error.code = 'ERR_INVALID_ARG_TYPE';
      throw error;
    }
    promised(call)(...args).then(
      (value) => callback(null, value),
      (error) => callback(error),
    );
  };

export const readFile = callbacked(readFileSync);
export const writeFile = callbacked(writeFileSync);
export const appendFile = callbacked(appendFileSync);
export const stat = callbacked(statSync);
export const lstat = callbacked(statSync);
export const readdir = callbacked(readdirSync);
export const mkdir = callbacked(mkdirSync);
export const unlink = callbacked(unlinkSync);
export const rmdir = callbacked(rmdirSync);
export const rm = callbacked(rmSync);
export const access = callbacked(accessSync);

export function exists(path, callback) {
  Promise.resolve().then(() => callback(existsSync(path)));
}

export default {
  createReadStream,
  createWriteStream,
  readFileSync,
  writeFileSync,
  appendFileSync,
  statSync,
  lstatSync,
  existsSync,
  accessSync,
  readdirSync,
  mkdirSync,
  unlinkSync,
  rmdirSync,
  rmSync,
  readFile,
  writeFile,
  appendFile,
  stat,
  lstat,
  readdir,
  mkdir,
  unlink,
  rmdir,
  rm,
  access,
  exists,
  promises,
  constants,
  F_OK,
  R_OK,
  W_OK,
  X_OK,
};
