// `http` (and, through node-https.mjs, `https`) for bundled handlers.
//
// The sandbox has no sockets: its one way out is `fetch`, which the host
// checks against the function's allowed_outbound_hosts. So:
// - the client (`request`, `get`, `ClientRequest`, `Agent`) sends each
//   request with `fetch` when it ends and answers with an `IncomingMessage`
//   whose body streams from the response, as Node's client is used by
//   handlers and the packages they bundle (a CloudFormation custom resource
//   answering its pre-signed URL, a webhook post);
// - `IncomingMessage`, `OutgoingMessage` and `ServerResponse` are Node's
//   message classes without a connection: frameworks build their request
//   and response objects on them (Express's prototypes, serverless-http's
//   request and response, which hand them a socket of their own), so they
//   keep Node's observable behaviour: the head as Node writes it (`_header`,
//   sent with the first body chunk), `headersSent`, `finished`, 'finish';
// - `createServer` makes a server that cannot listen: nothing can connect
//   to a sandbox (serverless-http and similar adapters call the handler
//   function directly).
import { EventEmitter } from 'events';
import { Readable, Stream } from 'stream';
import { Buffer } from 'buffer';
import { Socket } from './node-net.mjs';

export const METHODS = [
  'ACL',
  'BIND',
  'CHECKOUT',
  'CONNECT',
  'COPY',
  'DELETE',
  'GET',
  'HEAD',
  'LINK',
  'LOCK',
  'M-SEARCH',
  'MERGE',
  'MKACTIVITY',
  'MKCALENDAR',
  'MKCOL',
  'MOVE',
  'NOTIFY',
  'OPTIONS',
  'PATCH',
  'POST',
  'PROPFIND',
  'PROPPATCH',
  'PURGE',
  'PUT',
  'QUERY',
  'REBIND',
  'REPORT',
  'SEARCH',
  'SOURCE',
  'SUBSCRIBE',
  'TRACE',
  'UNBIND',
  'UNLINK',
  'UNLOCK',
  'UNSUBSCRIBE',
];

export const STATUS_CODES = {
  100: 'Continue',
  101: 'Switching Protocols',
  102: 'Processing',
  103: 'Early Hints',
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  203: 'Non-Authoritative Information',
  204: 'No Content',
  205: 'Reset Content',
  206: 'Partial Content',
  207: 'Multi-Status',
  208: 'Already Reported',
  226: 'IM Used',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  304: 'Not Modified',
  305: 'Use Proxy',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  417: 'Expectation Failed',
  418: "I'm a Teapot",
  421: 'Misdirected Request',
  422: 'Unprocessable Entity',
  423: 'Locked',
  424: 'Failed Dependency',
  425: 'Too Early',
  426: 'Upgrade Required',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  451: 'Unavailable For Legal Reasons',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
  506: 'Variant Also Negotiates',
  507: 'Insufficient Storage',
  508: 'Loop Detected',
  509: 'Bandwidth Limit Exceeded',
  510: 'Not Extended',
  511: 'Network Authentication Required',
};

export const maxHeaderSize = 16384;

function nodeError(Type, code, message) {
  const error = new Type(message);
  error.code = code;
  return error;
}

const TOKEN = /^[\^_`a-zA-Z\-0-9!#$%&'*+.|~]+$/;
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

export function validateHeaderName(name) {
  if (typeof name !== 'string' || !name || !TOKEN.test(name)) {
    throw nodeError(
      TypeError,
      'ERR_INVALID_HTTP_TOKEN',
      `Header name must be a valid HTTP token ["${name}"]`,
    );
  }
}

export function validateHeaderValue(name, value) {
  if (value === undefined) {
    throw nodeError(
      TypeError,
      'ERR_HTTP_INVALID_HEADER_VALUE',
      `Invalid value "${value}" for header "${name}"`,
    );
  }
  if (INVALID_VALUE.test(String(value))) {
    throw nodeError(
      TypeError,
      'ERR_INVALID_CHAR',
      `Invalid character in header content ["${name}"]`,
    );
  }
}

// ---------------------------------------------------------------------------
// IncomingMessage: a request a framework was handed, or a client's response.

export class IncomingMessage extends Readable {
  constructor(socket) {
    super();
    this.socket = socket;
    this.httpVersionMajor = 1;
    this.httpVersionMinor = 1;
    this.httpVersion = '1.1';
    this.complete = false;
    this.rawHeaders = [];
    this.rawTrailers = [];
    this.joinDuplicateHeaders = false;
    this.aborted = false;
    this.upgrade = false;
    this.url = '';
    this.method = null;
    this.statusCode = null;
    this.statusMessage = null;
    this.headers = {};
    this.trailers = {};
  }

  get connection() {
    return this.socket;
  }

  set connection(socket) {
    this.socket = socket;
  }

  get headersDistinct() {
    const distinct = {};
    for (let index = 0; index < this.rawHeaders.length; index += 2) {
      const name = this.rawHeaders[index].toLowerCase();
      (distinct[name] ??= []).push(this.rawHeaders[index + 1]);
    }
    return distinct;
  }

  _read() {}

  setTimeout(msecs, callback) {
    if (callback) this.once('timeout', callback);
    this.socket?.setTimeout?.(msecs);
    return this;
  }
}

// Node's rule for a header received more than once: `set-cookie` is a list,
// a few are kept first-seen, the others are joined with ", ".
const FIRST_WINS = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

function addHeader(headers, name, value) {
  const key = name.toLowerCase();
  if (key === 'set-cookie') {
    (headers[key] ??= []).push(value);
  } else if (!(key in headers)) {
    headers[key] = value;
  } else if (!FIRST_WINS.has(key)) {
    headers[key] += `, ${value}`;
  }
}

// ---------------------------------------------------------------------------
// OutgoingMessage and ServerResponse: Node's head-then-body protocol over
// whatever socket they are given (none in the sandbox but the one a
// framework adapter assigns).

const kHeaders = Symbol('kOutHeaders');

function headersSentError(what) {
  return nodeError(
    Error,
    'ERR_HTTP_HEADERS_SENT',
    `Cannot ${what} headers after they are sent to the client`,
  );
}

function byteLength(chunk, encoding) {
  return typeof chunk === 'string' ? Buffer.byteLength(chunk, encoding) : chunk.length;
}

export class OutgoingMessage extends Stream {
  constructor() {
    super();
    this.outputData = [];
    this.outputSize = 0;
    this.writable = true;
    this.destroyed = false;
    this._last = false;
    this.chunkedEncoding = false;
    this.shouldKeepAlive = true;
    this.useChunkedEncodingByDefault = true;
    this.sendDate = false;
    this._contentLength = null;
    this._hasBody = true;
    this._trailer = '';
    this.finished = false;
    this._headerSent = false;
    this.socket = null;
    this._header = null;
    this[kHeaders] = null;
    this.strictContentLength = false;
  }

  get connection() {
    return this.socket;
  }

  get headersSent() {
    return !!this._header;
  }

  get writableEnded() {
    return this.finished;
  }

  get writableFinished() {
    return this.finished && this.outputSize === 0 && !this.socket?.writableLength;
  }

  get writableLength() {
    return this.outputSize;
  }

  get writableHighWaterMark() {
    return 16384;
  }

  get writableCorked() {
    return 0;
  }

  get writableObjectMode() {
    return false;
  }

  setHeader(name, value) {
    if (this._header) throw headersSentError('set');
    validateHeaderName(name);
    validateHeaderValue(name, value);
    (this[kHeaders] ??= Object.create(null))[name.toLowerCase()] = [name, value];
    return this;
  }

  appendHeader(name, value) {
    if (this._header) throw headersSentError('append');
    const key = name.toLowerCase();
    const existing = this[kHeaders]?.[key];
    if (!existing) return this.setHeader(name, value);
    const values = [].concat(existing[1], value);
    this[kHeaders][key] = [existing[0], values];
    return this;
  }

  setHeaders(headers) {
    for (const [name, value] of headers instanceof Map || headers instanceof Headers
      ? headers
      : Object.entries(headers)) {
      this.setHeader(name, value);
    }
    return this;
  }

  getHeader(name) {
    return this[kHeaders]?.[String(name).toLowerCase()]?.[1];
  }

  getHeaders() {
    const headers = Object.create(null);
    for (const [key, [, value]] of Object.entries(this[kHeaders] ?? {})) headers[key] = value;
    return headers;
  }

  getHeaderNames() {
    return Object.keys(this[kHeaders] ?? {});
  }

  getRawHeaderNames() {
    return Object.values(this[kHeaders] ?? {}).map(([name]) => name);
  }

  hasHeader(name) {
    return !!this[kHeaders] && String(name).toLowerCase() in this[kHeaders];
  }

  removeHeader(name) {
    if (this._header) throw headersSentError('remove');
    if (this[kHeaders]) delete this[kHeaders][String(name).toLowerCase()];
  }

  // Node writes the head as text: the first line, then each header.
  _storeHeader(firstLine, headers) {
    let head = firstLine;
    const seen = new Set();
    const add = (name, value) => {
      seen.add(name.toLowerCase());
      for (const one of Array.isArray(value) ? value : [value]) head += `${name}: ${one}\r\n`;
    };
    if (headers) {
      if (Array.isArray(headers)) {
        for (let index = 0; index < headers.length; index += 2)
          add(headers[index], headers[index + 1]);
      } else if (headers === this[kHeaders]) {
        for (const [name, value] of Object.values(headers)) add(name, value);
      } else {
        for (const [name, value] of Object.entries(headers)) add(name, value);
      }
    }
    if (this.sendDate && !seen.has('date')) add('Date', new Date().toUTCString());
    if (!seen.has('connection')) add('Connection', this.shouldKeepAlive ? 'keep-alive' : 'close');
    if (!this._hasBody) {
      // A HEAD answer or a 204/304 has no body and no length.
    } else if (!seen.has('content-length') && !seen.has('transfer-encoding')) {
      if (typeof this._contentLength === 'number') {
        add('Content-Length', this._contentLength);
      } else if (this.useChunkedEncodingByDefault) {
        add('Transfer-Encoding', 'chunked');
        this.chunkedEncoding = true;
      }
    }
    this._header = `${head}\r\n`;
    this._headerSent = false;
  }

  _implicitHeader() {
    throw nodeError(
      Error,
      'ERR_METHOD_NOT_IMPLEMENTED',
      'The _implicitHeader() method is not implemented',
    );
  }

  // The head goes out with the first chunk of the body, as Node sends it.
  _send(data, encoding, callback) {
    if (!this._headerSent && this._header) {
      if (typeof data === 'string' && (!encoding || encoding === 'utf8' || encoding === 'latin1')) {
        data = this._header + data;
      } else {
        this.outputData.unshift({ data: this._header, encoding: 'latin1', callback: null });
        this.outputSize += this._header.length;
      }
      this._headerSent = true;
    }
    return this._writeRaw(data, encoding, callback);
  }

  _writeRaw(data, encoding, callback) {
    const socket = this.socket;
    if (socket && socket._httpMessage === this && socket.writable) {
      this._flushOutput(socket);
      return socket.write(data, encoding, callback);
    }
    this.outputData.push({ data, encoding, callback });
    this.outputSize += data.length;
    return false;
  }

  _flushOutput(socket) {
    const pending = this.outputData;
    this.outputData = [];
    this.outputSize = 0;
    for (const { data, encoding, callback } of pending) socket.write(data, encoding, callback);
  }

  _flush() {
    if (this.socket && this.socket.writable) this._flushOutput(this.socket);
  }

  write(chunk, encoding, callback) {
    if (typeof encoding === 'function') {
      callback = encoding;
      encoding = null;
    }
    if (this.finished) {
      const error = nodeError(Error, 'ERR_STREAM_WRITE_AFTER_END', 'write after end');
      queueMicrotask(() => {
        callback?.(error);
        this.emit('error', error);
      });
      return true;
    }
    if (!this._header) this._implicitHeader();
    if (chunk === null || chunk === undefined) {
      throw nodeError(TypeError, 'ERR_STREAM_NULL_VALUES', 'May not write null values to stream');
    }
    if (!this._hasBody || byteLength(chunk, encoding) === 0) {
      if (callback) queueMicrotask(callback);
      return true;
    }
    return this._send(chunk, encoding, callback);
  }

  end(chunk, encoding, callback) {
    if (typeof chunk === 'function') {
      callback = chunk;
      chunk = null;
    } else if (typeof encoding === 'function') {
      callback = encoding;
      encoding = null;
    }
    if (this.finished) {
      if (callback) queueMicrotask(callback);
      return this;
    }
    if (chunk !== null && chunk !== undefined) {
      if (!this._header) this._contentLength = byteLength(chunk, encoding);
      this.write(chunk, encoding);
    } else if (!this._header) {
      this._contentLength = 0;
      this._implicitHeader();
    }
    if (callback) this.once('finish', callback);
    const finish = () => this.emit('finish');
    if (!this._headerSent || chunk) {
      this._send('', 'latin1', finish);
    } else {
      queueMicrotask(finish);
    }
    this.finished = true;
    this.emit('prefinish');
    return this;
  }

  flushHeaders() {
    if (!this._header) this._implicitHeader();
    this._send('');
  }

  addTrailers(headers) {
    for (const [name, value] of Object.entries(headers)) this._trailer += `${name}: ${value}\r\n`;
  }

  cork() {}

  uncork() {}

  setTimeout(msecs, callback) {
    if (callback) this.once('timeout', callback);
    return this;
  }

  destroy(error) {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.socket?.destroy?.(error);
    queueMicrotask(() => {
      if (error) this.emit('error', error);
      this.emit('close');
    });
    return this;
  }
}

export class ServerResponse extends OutgoingMessage {
  constructor(req, options) {
    super(options);
    if (req?.method === 'HEAD') this._hasBody = false;
    this.req = req;
    this.sendDate = true;
    this.statusCode = 200;
    this.statusMessage = undefined;
    this._sent100 = false;
    this.once('finish', () => queueMicrotask(() => this.emit('close')));
  }

  assignSocket(socket) {
    socket._httpMessage = this;
    this.socket = socket;
    socket.on?.('close', () => this.emit('close'));
    this.emit('socket', socket);
    this._flush();
  }

  detachSocket(socket) {
    socket._httpMessage = null;
    this.socket = null;
  }

  writeHead(statusCode, reason, headers) {
    if (this._header) throw headersSentError('write');
    if (typeof reason !== 'string') {
      headers = reason;
      reason = undefined;
    }
    statusCode |= 0;
    if (statusCode < 100 || statusCode > 999) {
      throw nodeError(
        RangeError,
        'ERR_HTTP_INVALID_STATUS_CODE',
        `Invalid status code: ${statusCode}`,
      );
    }
    this.statusCode = statusCode;
    if (reason !== undefined) this.statusMessage = reason;
    else if (!this.statusMessage) this.statusMessage = STATUS_CODES[statusCode] || 'unknown';
    let head = this[kHeaders];
    if (headers && head) {
      if (Array.isArray(headers)) {
        for (let index = 0; index < headers.length; index += 2)
          this.setHeader(headers[index], headers[index + 1]);
      } else {
        for (const [name, value] of Object.entries(headers)) if (name) this.setHeader(name, value);
      }
    } else if (headers) {
      head = headers;
    }
    if (statusCode === 204 || statusCode === 304 || (statusCode >= 100 && statusCode <= 199)) {
      this._hasBody = false;
    }
    this._storeHeader(`HTTP/1.1 ${statusCode} ${this.statusMessage}\r\n`, head);
    return this;
  }

  _implicitHeader() {
    this.writeHead(this.statusCode);
  }

  writeContinue(callback) {
    this._sent100 = true;
    if (callback) queueMicrotask(callback);
  }

  writeProcessing(callback) {
    if (callback) queueMicrotask(callback);
  }

  writeEarlyHints(hints, callback) {
    if (callback) queueMicrotask(callback);
  }
}

// ---------------------------------------------------------------------------
// The client, over `fetch`.

export class Agent extends EventEmitter {
  constructor(options = {}) {
    super();
    this.options = { path: null, ...options };
    this.keepAlive = !!options.keepAlive;
    this.keepAliveMsecs = options.keepAliveMsecs ?? 1000;
    this.maxSockets = options.maxSockets ?? Agent.defaultMaxSockets;
    this.maxFreeSockets = options.maxFreeSockets ?? 256;
    this.maxTotalSockets = options.maxTotalSockets ?? Infinity;
    this.totalSocketCount = 0;
    this.defaultPort = 80;
    this.protocol = 'http:';
    this.sockets = Object.create(null);
    this.freeSockets = Object.create(null);
    this.requests = Object.create(null);
  }

  getName(options = {}) {
    return `${options.host ?? 'localhost'}:${options.port ?? ''}:${options.localAddress ?? ''}`;
  }

  destroy() {}
}
Agent.defaultMaxSockets = Infinity;

export const globalAgent = new Agent({ keepAlive: true, scheduling: 'lifo', timeout: 5000 });

// What `fetch`'s failures become: Node's error codes where the message tells
// (the engine's fetch says "NetworkError when attempting to fetch resource"
// for every failure, which becomes ECONNRESET).
function connectionError(cause, host, port) {
  const text = String(cause?.message ?? cause);
  const code = /refused/i.test(text)
    ? 'ECONNREFUSED'
    : /dns|not found|resolve/i.test(text)
      ? 'ENOTFOUND'
      : /timed? ?out/i.test(text)
        ? 'ETIMEDOUT'
        : 'ECONNRESET';
  const error =
    code === 'ENOTFOUND'
      ? new Error(`getaddrinfo ENOTFOUND ${host}`)
      : code === 'ECONNREFUSED'
        ? new Error(`connect ECONNREFUSED ${host}:${port}`)
        : new Error(`${text}`);
  error.code = code;
  error.errno = code;
  error.syscall = code === 'ENOTFOUND' ? 'getaddrinfo' : 'connect';
  error.cause = cause;
  return error;
}

// The socket a client request reports (`req.socket`, the 'socket' event),
// a `net.Socket` as in Node: there is none, but code sets timeouts and
// keep-alive on it.
class RequestSocket extends Socket {
  constructor(request) {
    super();
    this.request = request;
    this.connecting = false;
    this.writable = true;
    this.readable = true;
    this.remoteAddress = request.host;
    this.remotePort = Number(request.port);
    this.encrypted = request.protocol === 'https:';
  }
  setTimeout(msecs, callback) {
    this.request.setTimeout(msecs, callback);
    return this;
  }
  address() {
    return { address: this.remoteAddress, family: 'IPv4', port: this.remotePort };
  }
  destroy(error) {
    this.request.destroy(error);
    return this;
  }
}

function requestArguments(input, options, callback, defaults) {
  let settings = {};
  if (typeof input === 'string' || input instanceof URL) {
    const url = new URL(String(input));
    settings = {
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port,
      path: `${url.pathname}${url.search}`,
      auth: url.username
        ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`
        : undefined,
    };
  } else if (input && typeof input === 'object') {
    callback = options;
    options = input;
  } else {
    callback = options;
    options = input;
  }
  if (typeof options === 'function') {
    callback = options;
    options = {};
  }
  return { settings: { ...defaults, ...settings, ...(options ?? {}) }, callback };
}

export class ClientRequest extends OutgoingMessage {
  constructor(input, options, callback, defaults = { protocol: 'http:', defaultPort: 80 }) {
    super();
    const { settings, callback: onResponse } = requestArguments(input, options, callback, defaults);
    const expected = settings.agent?.protocol ?? defaults.protocol;
    if (settings.protocol && settings.protocol !== expected) {
      throw nodeError(
        TypeError,
        'ERR_INVALID_PROTOCOL',
        `Protocol "${settings.protocol}" not supported. Expected "${expected}"`,
      );
    }
    this.protocol = expected;
    this.agent = settings.agent === false ? undefined : (settings.agent ?? defaults.agent);
    this.method = String(settings.method ?? 'GET').toUpperCase();
    this.host = settings.hostname ?? String(settings.host ?? 'localhost').replace(/:\d+$/, '');
    this.port = settings.port || settings.defaultPort || defaults.defaultPort;
    this.path = settings.path ?? '/';
    if (/[\u0000-\u0020]/.test(this.path)) {
      throw nodeError(
        TypeError,
        'ERR_UNESCAPED_CHARACTERS',
        'Request path contains unescaped characters',
      );
    }
    this.timeoutMs = settings.timeout;
    this.reusedSocket = false;
    this.aborted = false;
    this.res = null;
    this.useChunkedEncodingByDefault = ![
      'GET',
      'HEAD',
      'DELETE',
      'OPTIONS',
      'TRACE',
      'CONNECT',
    ].includes(this.method);
    const headers = settings.headers;
    if (Array.isArray(headers)) {
      for (let index = 0; index < headers.length; index += 2)
        this.setHeader(headers[index], headers[index + 1]);
    } else if (headers) {
      for (const [name, value] of Object.entries(headers))
        if (value !== undefined) this.setHeader(name, value);
    }
    if (settings.auth && !this.hasHeader('authorization')) {
      this.setHeader('Authorization', `Basic ${Buffer.from(settings.auth).toString('base64')}`);
    }
    if (!this.hasHeader('host')) {
      const standard = Number(this.port) === defaults.defaultPort;
      this.setHeader('Host', standard ? this.host : `${this.host}:${this.port}`);
    }
    if (onResponse) this.once('response', onResponse);
    this.body = [];
    this.controller = new AbortController();
    this.socket = new RequestSocket(this);
    if (settings.signal) {
      const abort = () =>
        this.destroy(
          settings.signal.reason ?? nodeError(Error, 'ABORT_ERR', 'The operation was aborted'),
        );
      if (settings.signal.aborted) queueMicrotask(abort);
      else settings.signal.addEventListener('abort', abort, { once: true });
    }
    if (this.timeoutMs) this.setTimeout(this.timeoutMs);
    queueMicrotask(() => this.emit('socket', this.socket));
  }

  _implicitHeader() {
    this._header = `${this.method} ${this.path} HTTP/1.1\r\n`;
  }

  write(chunk, encoding, callback) {
    if (typeof encoding === 'function') {
      callback = encoding;
      encoding = null;
    }
    if (this.finished) {
      const error = nodeError(Error, 'ERR_STREAM_WRITE_AFTER_END', 'write after end');
      queueMicrotask(() => this.emit('error', error));
      return false;
    }
    if (chunk !== null && chunk !== undefined && byteLength(chunk, encoding) > 0) {
      this.body.push(
        typeof chunk === 'string' ? Buffer.from(chunk, encoding ?? 'utf8') : Buffer.from(chunk),
      );
    }
    if (!this._header) this._implicitHeader();
    if (callback) queueMicrotask(callback);
    return true;
  }

  end(chunk, encoding, callback) {
    if (typeof chunk === 'function') {
      callback = chunk;
      chunk = null;
    } else if (typeof encoding === 'function') {
      callback = encoding;
      encoding = null;
    }
    if (this.finished) return this;
    if (chunk !== null && chunk !== undefined) this.write(chunk, encoding);
    if (!this._header) this._implicitHeader();
    this.finished = true;
    if (callback) this.once('finish', callback);
    queueMicrotask(() => {
      this.emit('prefinish');
      this.emit('finish');
      this.#send();
    });
    return this;
  }

  #send() {
    if (this.destroyed) return;
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    const url = `${this.protocol}//${host}:${this.port}${this.path}`;
    const headers = new Headers();
    for (const [name, value] of Object.values(this[kHeaders] ?? {})) {
      for (const one of Array.isArray(value) ? value : [value]) headers.append(name, String(one));
    }
    const body = this.body.length ? Buffer.concat(this.body) : undefined;
    const init = {
      method: this.method,
      headers,
      redirect: 'manual',
      signal: this.controller.signal,
    };
    if (body !== undefined && this.method !== 'GET' && this.method !== 'HEAD') init.body = body;
    fetch(url, init).then(
      (response) => this.#answer(response),
      (cause) => {
        if (this.destroyed) return;
        this.destroyed = true;
        this.emit('error', connectionError(cause, this.host, this.port));
        this.emit('close');
      },
    );
  }

  #answer(response) {
    if (this.destroyed) return;
    const res = new IncomingMessage(this.socket);
    res.req = this;
    res.statusCode = response.status;
    res.statusMessage = response.statusText || STATUS_CODES[response.status] || '';
    for (const [name, value] of response.headers) {
      if (name === 'set-cookie') continue;
      res.rawHeaders.push(name, value);
      addHeader(res.headers, name, value);
    }
    for (const cookie of response.headers.getSetCookie?.() ?? []) {
      res.rawHeaders.push('set-cookie', cookie);
      addHeader(res.headers, 'set-cookie', cookie);
    }
    this.res = res;
    res.once('end', () => {
      res.complete = true;
      queueMicrotask(() => {
        this.#clearTimer();
        res.emit('close');
        this.emit('close');
      });
    });
    const reader = response.body?.getReader();
    const pump = () => {
      if (!reader) {
        res.push(null);
        return;
      }
      reader.read().then(
        ({ done, value }) => {
          if (done) {
            res.push(null);
          } else {
            res.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
            pump();
          }
        },
        (cause) => {
          res.aborted = true;
          res.destroy(connectionError(cause, this.host, this.port));
        },
      );
    };
    // Node discards the body of a response nobody listens for.
    if (!this.emit('response', res)) res.resume();
    pump();
  }

  #timer = null;

  #clearTimer() {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  setTimeout(msecs, callback) {
    if (callback) this.once('timeout', callback);
    this.#clearTimer();
    if (msecs > 0) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        if (!this.res?.complete) this.emit('timeout');
      }, msecs);
    }
    return this;
  }

  setNoDelay() {}

  setSocketKeepAlive() {}

  abort() {
    if (this.aborted) return;
    this.aborted = true;
    queueMicrotask(() => this.emit('abort'));
    this.destroy();
  }

  destroy(error) {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.#clearTimer();
    this.controller.abort();
    if (this.res && !this.res.complete) {
      this.res.aborted = true;
      this.res.destroy(error);
    }
    queueMicrotask(() => {
      if (error) this.emit('error', error);
      else if (!this.res && !this.aborted) {
        this.emit('error', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
      }
      this.emit('close');
    });
    return this;
  }
}

export function request(input, options, callback) {
  return new ClientRequest(input, options, callback, {
    protocol: 'http:',
    defaultPort: 80,
    agent: globalAgent,
  });
}

export function get(input, options, callback) {
  const req = request(input, options, callback);
  req.end();
  return req;
}

// ---------------------------------------------------------------------------
// Servers: made, never listening.

export class Server extends EventEmitter {
  constructor(options, listener) {
    super();
    if (typeof options === 'function') listener = options;
    if (listener) this.on('request', listener);
    this.listening = false;
    this.timeout = 0;
    this.keepAliveTimeout = 5000;
    this.headersTimeout = 60000;
    this.requestTimeout = 300000;
  }

  listen() {
    throw nodeError(
      Error,
      'ERR_SERVER_NOT_RUNNING',
      'a server cannot listen inside a Lambda function: nothing connects to it. Hand the ' +
        "framework's app to an adapter such as serverless-http, which calls it with each event",
    );
  }

  close(callback) {
    if (callback) queueMicrotask(callback);
    return this;
  }

  address() {
    return null;
  }

  setTimeout(msecs, callback) {
    this.timeout = msecs;
    if (callback) this.on('timeout', callback);
    return this;
  }
}

export function createServer(options, listener) {
  return new Server(options, listener);
}

export default {
  METHODS,
  STATUS_CODES,
  maxHeaderSize,
  validateHeaderName,
  validateHeaderValue,
  IncomingMessage,
  OutgoingMessage,
  ServerResponse,
  ClientRequest,
  Agent,
  globalAgent,
  request,
  get,
  Server,
  createServer,
};
