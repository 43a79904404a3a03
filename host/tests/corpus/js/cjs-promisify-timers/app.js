'use strict';

const util = require('util');
const { promisify } = require('node:util');

const sleep = util.promisify(setTimeout);
const nextImmediate = promisify(setImmediate);

// A callback API that ships its own promise form, as client libraries do.
function lookupRate(currency, callback) {
  setTimeout(() => callback(null, { currency, rate: 1.1 }), 1);
}
lookupRate[util.promisify.custom] = async (currency) => ({ currency, rate: 2.5, custom: true });

// A plain Node-style callback API.
function legacyFetch(id, callback) {
  setImmediate(() => {
    if (id < 0) callback(new Error(`no item ${id}`));
    else callback(null, { id, name: `item-${id}` });
  });
}
const fetchItem = promisify(legacyFetch);

// Where it was called from, through V8's stack trace API, as packages that
// load files next to their caller do.
function whoCalled() {
  const prepare = Error.prepareStackTrace;
  Error.prepareStackTrace = (_, sites) => sites;
  const sites = new Error().stack.slice(1);
  Error.prepareStackTrace = prepare;
  const site = sites[0];
  return {
    file: site.getFileName().split('/').pop(),
    line: site.getLineNumber(),
    fn: site.getFunctionName(),
  };
}

function reportCaller() {
  return whoCalled();
}

let cacheClears = 0;
process.once('cache-cleared', (count) => {
  cacheClears += count;
});
process.on('unhandledRejection', (reason) => {
  console.error('unhandled rejection', reason);
});

module.exports.handler = async (event) => {
  const started = Date.now();
  const slept = await sleep(5, 'woke');
  const immediate = await nextImmediate('now');
  const rate = await promisify(lookupRate)(event.currency);
  const item = await fetchItem(event.id);
  let failure = null;
  try {
    await fetchItem(-1);
  } catch (error) {
    failure = error.message;
  }
  const order = [];
  await new Promise((resolve) => {
    setImmediate(() => {
      order.push('immediate');
      resolve();
    });
    process.nextTick(() => order.push('tick'));
    Promise.resolve().then(() => order.push('microtask'));
  });
  process.emit('cache-cleared', 2);
  process.emit('cache-cleared', 5);
  return {
    slept,
    immediate,
    rate,
    item,
    failure,
    // Node runs a tick queued inside a promise job after the other
    // promise jobs; the order of those two is left out.
    ranBeforeImmediate: order.slice(0, 2).sort(),
    immediateLast: order[2] === 'immediate',
    cacheClears,
    customSymbolIsNodes: util.promisify.custom === Symbol.for('nodejs.util.promisify.custom'),
    waited: Date.now() - started >= 5,
    caller: reportCaller(),
  };
};
