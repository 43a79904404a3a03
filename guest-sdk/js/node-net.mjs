// `net` for bundled handlers: the address checks packages use (`isIP`,
// Express's request.js among them). Sockets cannot be opened in the
// sandbox: `connect` and `createConnection` fail saying so; reach services
// through `fetch`, `http` or `https`, which go through the host's
// allowed_outbound_hosts.
import { EventEmitter } from 'events';

const IPV4_PART = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${IPV4_PART}(?:\\.${IPV4_PART}){3}$`);

export function isIPv4(input) {
  return IPV4.test(String(input));
}

export function isIPv6(input) {
  const text = String(input);
  if (!text.includes(':') || /[^0-9a-fA-F:.%]/.test(text.split('%')[0])) return false;
  try {
    new URL(`http://[${text.split('%')[0]}]/`);
    return true;
  } catch {
    return false;
  }
}

export function isIP(input) {
  if (isIPv4(input)) return 4;
  if (isIPv6(input)) return 6;
  return 0;
}

function noSockets() {
  const error = new Error(
    'sockets cannot be opened inside the sandbox: use fetch, http or https, which go ' +
      "through the function's allowed_outbound_hosts",
  );
  error.code = 'ERR_SOCKET_CONNECTION_UNAVAILABLE';
  return error;
}

export class Socket extends EventEmitter {
  connect() {
    throw noSockets();
  }
  setTimeout() {
    return this;
  }
  setNoDelay() {
    return this;
  }
  setKeepAlive() {
    return this;
  }
  ref() {
    return this;
  }
  unref() {
    return this;
  }
  destroy() {
    return this;
  }
  end() {
    return this;
  }
}

export class Server extends EventEmitter {
  listen() {
    throw noSockets();
  }
  close(callback) {
    if (callback) queueMicrotask(callback);
    return this;
  }
}

export function connect() {
  throw noSockets();
}

export const createConnection = connect;

export function createServer() {
  return new Server();
}

export default { isIP, isIPv4, isIPv6, Socket, Server, connect, createConnection, createServer };
