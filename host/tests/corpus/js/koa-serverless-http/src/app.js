const Koa = require('koa');
const Router = require('@koa/router');
const bodyParser = require('koa-bodyparser');

const app = new Koa();
const router = new Router({ prefix: '/api' });

const inventory = { apples: 12, pears: 0 };

router.get('/stock/:item', (ctx) => {
  const count = inventory[ctx.params.item];
  ctx.assert(count !== undefined, 404, `unknown item ${ctx.params.item}`);
  ctx.body = { item: ctx.params.item, count, inStock: count > 0, verbose: ctx.query.verbose === '1' };
});

router.post('/orders', (ctx) => {
  const { item, quantity } = ctx.request.body;
  if (!Number.isInteger(quantity) || quantity <= 0) ctx.throw(422, 'quantity must be a positive integer');
  ctx.status = 201;
  ctx.set('Location', `/api/orders/${item}-${quantity}`);
  ctx.body = { item, quantity, accepted: (inventory[item] ?? 0) >= quantity };
});

app.use(async (ctx, next) => {
  await next();
  ctx.set('x-response-from', 'koa');
});
app.use(bodyParser());
app.use(router.routes());
app.use(router.allowedMethods());

module.exports = app;
