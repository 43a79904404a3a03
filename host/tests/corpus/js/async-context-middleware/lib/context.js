// Request-scoped state, kept the way request loggers and tracers keep it:
// one AsyncLocalStorage, entered by a middleware around the handler.
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';

export const requestContext = new AsyncLocalStorage();
export const tracer = new AsyncLocalStorage({ defaultValue: 'no-segment' });

export function correlationId() {
  return requestContext.getStore()?.correlationId ?? '-';
}

export function log(message) {
  requestContext.getStore()?.lines.push(`${correlationId()} ${message}`);
}

// middy-style: `withContext(handler).use({ before, after })`.
export function withContext(handler) {
  const middlewares = [];
  const wrapped = (event, context) => {
    const store = {
      correlationId: event.headers?.['x-correlation-id'] ?? context.awsRequestId,
      lines: [],
    };
    return requestContext.run(store, async () => {
      const request = { event, context, response: undefined };
      for (const middleware of middlewares) await middleware.before?.(request);
      request.response = await handler(request.event, context);
      for (const middleware of [...middlewares].reverse()) await middleware.after?.(request);
      return request.response;
    });
  };
  wrapped.use = (middleware) => {
    middlewares.push(middleware);
    return wrapped;
  };
  return wrapped;
}

export const bindToRequest = (fn) => AsyncResource.bind(fn);
