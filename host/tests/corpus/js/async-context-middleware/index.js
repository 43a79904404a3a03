import { AsyncLocalStorage } from 'async_hooks';
import { setTimeout as sleep } from 'timers/promises';
import { bindToRequest, correlationId, log, requestContext, tracer, withContext } from './lib/context.js';

const atLoad = requestContext.getStore();

// Priced concurrently: each resumes after its own timer and still sees the
// request's store.
async function price(sku) {
  await sleep(sku.length);
  return { sku, cents: sku.length * 125, seenBy: correlationId() };
}

const lookup = async (event) => {
  log('start');
  tracer.enterWith('handler-segment');
  const prices = await Promise.all((event.skus ?? []).map(price));
  log(`priced ${prices.map((item) => item.sku).join(',')}`);
  const fromTimer = await new Promise((resolve) => {
    setTimeout(() => {
      log('timer fired');
      resolve(correlationId());
    }, 2);
  });
  const fromThen = await Promise.resolve(1).then(() => correlationId());
  const nested = await requestContext.run({ correlationId: 'child', lines: [] }, async () => {
    await sleep(1);
    return correlationId();
  });
  const report = bindToRequest(() => correlationId());
  const outside = requestContext.exit(() => requestContext.getStore() ?? null);
  const snapshot = AsyncLocalStorage.snapshot();
  const fromMicrotask = await new Promise((resolve) => queueMicrotask(() => resolve(correlationId())));
  const fromTick = await new Promise((resolve) => process.nextTick(() => resolve(correlationId())));
  log('done');
  return {
    statusCode: 200,
    body: JSON.stringify({
      prices,
      fromTimer,
      fromThen,
      nested,
      afterNested: correlationId(),
      bound: report(),
      outside,
      snapshot: snapshot(() => correlationId()),
      fromMicrotask,
      fromTick,
      segment: tracer.getStore(),
      atLoad: atLoad ?? null,
      lines: requestContext.getStore().lines,
    }),
  };
};

export const handler = withContext(lookup).use({
  before: async (request) => {
    await sleep(1);
    log(`before ${request.event.path ?? '/'}`);
  },
  after: (request) => {
    log('after');
    request.response.headers = { 'x-correlation-id': correlationId() };
  },
});
