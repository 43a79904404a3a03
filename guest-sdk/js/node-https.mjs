// `https` for bundled handlers: node-http.mjs's client with `https:` as its
// protocol and 443 as its port (TLS is the host's, under `fetch`).
import {
  Agent as HttpAgent,
  ClientRequest,
  Server as HttpServer,
  METHODS,
  STATUS_CODES,
} from './node-http.mjs';

export class Agent extends HttpAgent {
  constructor(options = {}) {
    super(options);
    this.defaultPort = 443;
    this.protocol = 'https:';
  }
}

export const globalAgent = new Agent({ keepAlive: true, scheduling: 'lifo', timeout: 5000 });

export function request(input, options, callback) {
  return new ClientRequest(input, options, callback, {
    protocol: 'https:',
    defaultPort: 443,
    agent: globalAgent,
  });
}

export function get(input, options, callback) {
  const req = request(input, options, callback);
  req.end();
  return req;
}

export class Server extends HttpServer {}

export function createServer(options, listener) {
  return new Server(options, listener);
}

export { METHODS, STATUS_CODES };

export default { Agent, globalAgent, request, get, Server, createServer, METHODS, STATUS_CODES };
