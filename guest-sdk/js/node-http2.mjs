// `http2` for bundled handlers: the module's constants, settings helpers and
// classes, so that packages which import it load (the AWS SDK's
// @smithy/node-http-handler, which every `requestHandler: new
// NodeHttpHandler(...)` pulls in, reads `http2.constants` at load time).
// The host's outbound HTTP speaks HTTP/1.1 only, so a session cannot be
// opened: `connect` returns a session that emits an `error` saying so, as
// Node's does for a connection that fails, and servers cannot be created.
// `http` and `https` reach the same hosts.
import { Buffer } from 'buffer';
import { EventEmitter } from 'events';

const HEADERS = [
  ':status',
  ':method',
  ':authority',
  ':scheme',
  ':path',
  ':protocol',
  'accept-encoding',
  'accept-language',
  'accept-ranges',
  'accept',
  'access-control-allow-credentials',
  'access-control-allow-headers',
  'access-control-allow-methods',
  'access-control-allow-origin',
  'access-control-expose-headers',
  'access-control-request-headers',
  'access-control-request-method',
  'age',
  'authorization',
  'cache-control',
  'connection',
  'content-disposition',
  'content-encoding',
  'content-length',
  'content-type',
  'cookie',
  'date',
  'etag',
  'forwarded',
  'host',
  'if-modified-since',
  'if-none-match',
  'if-range',
  'last-modified',
  'link',
  'location',
  'range',
  'referer',
  'server',
  'set-cookie',
  'strict-transport-security',
  'transfer-encoding',
  'te',
  'upgrade-insecure-requests',
  'upgrade',
  'user-agent',
  'vary',
  'x-content-type-options',
  'x-frame-options',
  'keep-alive',
  'proxy-connection',
  'x-xss-protection',
  'alt-svc',
  'content-security-policy',
  'early-data',
  'expect-ct',
  'origin',
  'purpose',
  'timing-allow-origin',
  'x-forwarded-for',
  'priority',
  'accept-charset',
  'access-control-max-age',
  'allow',
  'content-language',
  'content-location',
  'content-md5',
  'content-range',
  'dnt',
  'expect',
  'expires',
  'from',
  'if-match',
  'if-unmodified-since',
  'max-forwards',
  'prefer',
  'proxy-authenticate',
  'proxy-authorization',
  'refresh',
  'retry-after',
  'trailer',
  'tk',
  'via',
  'warning',
  'www-authenticate',
  'http2-settings',
];

// The methods of the HTTP method registry that Node names.
const METHODS = [
  'ACL',
  'BASELINE-CONTROL',
  'BIND',
  'CHECKIN',
  'CHECKOUT',
  'CONNECT',
  'COPY',
  'DELETE',
  'GET',
  'HEAD',
  'LABEL',
  'LINK',
  'LOCK',
  'MERGE',
  'MKACTIVITY',
  'MKCALENDAR',
  'MKCOL',
  'MKREDIRECTREF',
  'MKWORKSPACE',
  'MOVE',
  'OPTIONS',
  'ORDERPATCH',
  'PATCH',
  'POST',
  'PRI',
  'PROPFIND',
  'PROPPATCH',
  'PUT',
  'REBIND',
  'REPORT',
  'SEARCH',
  'TRACE',
  'UNBIND',
  'UNCHECKOUT',
  'UNLINK',
  'UNLOCK',
  'UPDATE',
  'UPDATEREDIRECTREF',
  'VERSION-CONTROL',
];

const STATUSES = {
  CONTINUE: 100,
  SWITCHING_PROTOCOLS: 101,
  PROCESSING: 102,
  EARLY_HINTS: 103,
  OK: 200,
  CREATED: 201,
  ACCEPTED: 202,
  NON_AUTHORITATIVE_INFORMATION: 203,
  NO_CONTENT: 204,
  RESET_CONTENT: 205,
  PARTIAL_CONTENT: 206,
  MULTI_STATUS: 207,
  ALREADY_REPORTED: 208,
  IM_USED: 226,
  MULTIPLE_CHOICES: 300,
  MOVED_PERMANENTLY: 301,
  FOUND: 302,
  SEE_OTHER: 303,
  NOT_MODIFIED: 304,
  USE_PROXY: 305,
  TEMPORARY_REDIRECT: 307,
  PERMANENT_REDIRECT: 308,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  PAYMENT_REQUIRED: 402,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  NOT_ACCEPTABLE: 406,
  PROXY_AUTHENTICATION_REQUIRED: 407,
  REQUEST_TIMEOUT: 408,
  CONFLICT: 409,
  GONE: 410,
  LENGTH_REQUIRED: 411,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RANGE_NOT_SATISFIABLE: 416,
  EXPECTATION_FAILED: 417,
  TEAPOT: 418,
  MISDIRECTED_REQUEST: 421,
  UNPROCESSABLE_ENTITY: 422,
  LOCKED: 423,
  FAILED_DEPENDENCY: 424,
  TOO_EARLY: 425,
  UPGRADE_REQUIRED: 426,
  PRECONDITION_REQUIRED: 428,
  TOO_MANY_REQUESTS: 429,
  REQUEST_HEADER_FIELDS_TOO_LARGE: 431,
  UNAVAILABLE_FOR_LEGAL_REASONS: 451,
  INTERNAL_SERVER_ERROR: 500,
  NOT_IMPLEMENTED: 501,
  BAD_GATEWAY: 502,
  SERVICE_UNAVAILABLE: 503,
  GATEWAY_TIMEOUT: 504,
  HTTP_VERSION_NOT_SUPPORTED: 505,
  VARIANT_ALSO_NEGOTIATES: 506,
  INSUFFICIENT_STORAGE: 507,
  LOOP_DETECTED: 508,
  BANDWIDTH_LIMIT_EXCEEDED: 509,
  NOT_EXTENDED: 510,
  NETWORK_AUTHENTICATION_REQUIRED: 511,
};

// nghttp2's numbers: error codes (RFC 9113, section 7), stream states,
// frame flags and settings identifiers.
const ERROR_CODES = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED',
];
const STREAM_STATES = [
  'IDLE',
  'OPEN',
  'RESERVED_LOCAL',
  'RESERVED_REMOTE',
  'HALF_CLOSED_LOCAL',
  'HALF_CLOSED_REMOTE',
  'CLOSED',
];
const SETTINGS = {
  HEADER_TABLE_SIZE: 1,
  ENABLE_PUSH: 2,
  MAX_CONCURRENT_STREAMS: 3,
  INITIAL_WINDOW_SIZE: 4,
  MAX_FRAME_SIZE: 5,
  MAX_HEADER_LIST_SIZE: 6,
  ENABLE_CONNECT_PROTOCOL: 8,
};
const DEFAULTS = {
  HEADER_TABLE_SIZE: 4096,
  ENABLE_PUSH: 1,
  MAX_CONCURRENT_STREAMS: 4294967295,
  INITIAL_WINDOW_SIZE: 65535,
  MAX_FRAME_SIZE: 16384,
  MAX_HEADER_LIST_SIZE: 65535,
  ENABLE_CONNECT_PROTOCOL: 0,
};

// In Node's order, which `JSON.stringify(constants)` shows.
export const constants = {
  NGHTTP2_ERR_FRAME_SIZE_ERROR: -522,
  NGHTTP2_SESSION_SERVER: 0,
  NGHTTP2_SESSION_CLIENT: 1,
};
STREAM_STATES.forEach((state, index) => {
  constants[`NGHTTP2_STREAM_STATE_${state}`] = index + 1;
});
Object.assign(constants, {
  NGHTTP2_FLAG_NONE: 0,
  NGHTTP2_FLAG_END_STREAM: 1,
  NGHTTP2_FLAG_END_HEADERS: 4,
  NGHTTP2_FLAG_ACK: 1,
  NGHTTP2_FLAG_PADDED: 8,
  NGHTTP2_FLAG_PRIORITY: 32,
});
for (const [name, value] of Object.entries(DEFAULTS)) {
  constants[`DEFAULT_SETTINGS_${name}`] = value;
}
Object.assign(constants, {
  MAX_MAX_FRAME_SIZE: 16777215,
  MIN_MAX_FRAME_SIZE: 16384,
  MAX_INITIAL_WINDOW_SIZE: 2147483647,
});
for (const [name, value] of Object.entries(SETTINGS)) {
  constants[`NGHTTP2_SETTINGS_${name}`] = value;
}
Object.assign(constants, {
  PADDING_STRATEGY_NONE: 0,
  PADDING_STRATEGY_ALIGNED: 1,
  PADDING_STRATEGY_MAX: 2,
  PADDING_STRATEGY_CALLBACK: 1,
});
ERROR_CODES.forEach((name, code) => {
  constants[`NGHTTP2_${name}`] = code;
});
constants.NGHTTP2_DEFAULT_WEIGHT = 16;
for (const header of HEADERS) {
  constants[`HTTP2_HEADER_${header.replace(/^:/, '').replace(/-/g, '_').toUpperCase()}`] = header;
}
for (const method of METHODS) {
  constants[`HTTP2_METHOD_${method.replace(/-/g, '_')}`] = method;
}
for (const [name, status] of Object.entries(STATUSES)) {
  constants[`HTTP_STATUS_${name}`] = status;
}

export const sensitiveHeaders = Symbol('nodejs.http2.sensitiveHeaders');

export function getDefaultSettings() {
  const settings = Object.create(null);
  Object.assign(settings, {
    headerTableSize: DEFAULTS.HEADER_TABLE_SIZE,
    enablePush: true,
    initialWindowSize: DEFAULTS.INITIAL_WINDOW_SIZE,
    maxFrameSize: DEFAULTS.MAX_FRAME_SIZE,
    maxConcurrentStreams: DEFAULTS.MAX_CONCURRENT_STREAMS,
    maxHeaderSize: DEFAULTS.MAX_HEADER_LIST_SIZE,
    maxHeaderListSize: DEFAULTS.MAX_HEADER_LIST_SIZE,
    enableConnectProtocol: false,
  });
  return settings;
}

// A SETTINGS frame's payload: six bytes per setting, its identifier then
// its value, both big-endian (RFC 9113, section 6.5.1).
const SETTING_FIELDS = {
  headerTableSize: SETTINGS.HEADER_TABLE_SIZE,
  enablePush: SETTINGS.ENABLE_PUSH,
  maxConcurrentStreams: SETTINGS.MAX_CONCURRENT_STREAMS,
  initialWindowSize: SETTINGS.INITIAL_WINDOW_SIZE,
  maxFrameSize: SETTINGS.MAX_FRAME_SIZE,
  maxHeaderListSize: SETTINGS.MAX_HEADER_LIST_SIZE,
  enableConnectProtocol: SETTINGS.ENABLE_CONNECT_PROTOCOL,
};

export function getPackedSettings(settings = {}) {
  const entries = Object.entries(SETTING_FIELDS).filter(([field]) => settings[field] !== undefined);
  const packed = new Uint8Array(entries.length * 6);
  const view = new DataView(packed.buffer);
  entries.forEach(([field, id], index) => {
    view.setUint16(index * 6, id);
    view.setUint32(index * 6 + 2, Number(settings[field]));
  });
  return Buffer.from(packed.buffer);
}

export function getUnpackedSettings(buffer) {
  if (buffer.length % 6 !== 0) {
    const error = new RangeError('Packed settings length must be a multiple of six');
    error.code = 'ERR_HTTP2_INVALID_PACKED_SETTINGS_LENGTH';
    throw error;
  }
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const settings = {};
  for (let offset = 0; offset < buffer.length; offset += 6) {
    const id = view.getUint16(offset);
    const value = view.getUint32(offset + 2);
    const field = Object.keys(SETTING_FIELDS).find((name) => SETTING_FIELDS[name] === id);
    if (field === 'enablePush' || field === 'enableConnectProtocol') {
      settings[field] = value !== 0;
    } else if (field) {
      settings[field] = value;
    }
  }
  return settings;
}

function unavailable() {
  const error = new Error(
    "HTTP/2 sessions cannot be opened inside the sandbox: the host's outbound HTTP speaks " +
      'HTTP/1.1; use fetch, http or https, which reach the same allowed_outbound_hosts',
  );
  error.code = 'ERR_HTTP2_UNAVAILABLE';
  return error;
}

// Node's session classes, which it does not export.
class Http2Session extends EventEmitter {
  constructor(authority) {
    super();
    this.alpnProtocol = undefined;
    this.closed = false;
    this.connecting = true;
    this.destroyed = false;
    this.encrypted = String(authority).startsWith('https:');
    this.originSet = [];
    this.pendingSettingsAck = false;
    this.type = constants.NGHTTP2_SESSION_CLIENT;
  }
  request() {
    throw unavailable();
  }
  settings() {}
  ping(callback) {
    if (typeof callback === 'function') queueMicrotask(() => callback(unavailable()));
    return false;
  }
  ref() {}
  unref() {}
  setTimeout() {}
  close(callback) {
    if (typeof callback === 'function') this.once('close', callback);
    this.destroy();
  }
  destroy(error) {
    if (this.destroyed) return;
    this.destroyed = true;
    this.closed = true;
    this.connecting = false;
    queueMicrotask(() => {
      if (error) this.emit('error', error);
      this.emit('close');
    });
  }
}

class ClientHttp2Session extends Http2Session {}

export function connect(authority, options, listener) {
  const session = new ClientHttp2Session(authority);
  if (typeof options === 'function') listener = options;
  if (typeof listener === 'function') session.once('connect', listener);
  // Asynchronously, as a connection that fails: the caller's `error`
  // listener is in place by then.
  setTimeout(() => session.destroy(unavailable()), 0);
  return session;
}

export function createServer() {
  throw unavailable();
}

export function createSecureServer() {
  throw unavailable();
}

export function performServerHandshake() {
  throw unavailable();
}

export class Http2ServerRequest extends EventEmitter {}
export class Http2ServerResponse extends EventEmitter {}

export default {
  connect,
  constants,
  createServer,
  createSecureServer,
  getDefaultSettings,
  getPackedSettings,
  getUnpackedSettings,
  performServerHandshake,
  sensitiveHeaders,
  Http2ServerRequest,
  Http2ServerResponse,
};
