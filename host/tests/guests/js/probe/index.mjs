// A JavaScript handler for the host's tests: the event's "action" picks what
// it reports or how it fails.
import { greet } from './lib/greet.mjs';

const moduleLevelRegion = process.env.AWS_REGION;
const moduleSetting = process.env.PROBE_SETTING ?? null;
// Made once per init phase: with the load-time snapshot, every sandbox of a
// loaded function shares it.
const initId = crypto.randomUUID();
console.log('probe init', initId);

export const handler = async (event, context) => {
  switch (event.action) {
    case 'context': {
      const first = context.getRemainingTimeInMillis();
      await new Promise((resolve) => setTimeout(resolve, 30));
      const second = context.getRemainingTimeInMillis();
      const { getRemainingTimeInMillis, ...fields } = context;
      return { ...fields, remaining: [first, second], remainingType: typeof first };
    }
    case 'env':
      return { ...process.env };
    case 'init':
      return {
        initId,
        moduleSetting,
        random: Math.random(),
        stream: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      };
    case 'module_env':
      return { module: moduleLevelRegion ?? null, now: process.env.AWS_REGION };
    case 'log':
      console.log('log line', { n: 1 });
      console.info('info line');
      console.warn('warn line');
      console.error('error line');
      return 'logged';
    case 'json_log':
      // Lambda's JSON records of console calls: several arguments, one
      // object, one Error, an Error among others; and a raw record below
      // the level.
      console.log('log line', { n: 1 });
      console.info({ order: 7, nested: [1] });
      console.debug('debug line');
      console.warn('warn line');
      console.error(new TypeError('bad thing'));
      console.error('with error', new RangeError('far'));
      process.stdout.write(`${JSON.stringify({ level: 'DEBUG', message: 'raw debug' })}\n`);
      return 'logged';
    case 'timer':
      await new Promise((resolve) => setTimeout(resolve, event.millis ?? 20));
      return 'waited';
    case 'undefined':
      return undefined;
    case 'throw_error':
      throw new TypeError('wrong type');
    case 'throw_string':
      throw 'just a string';
    case 'throw_number':
      throw 42;
    case 'reject':
      return Promise.reject(new RangeError('out of range'));
    case 'helper':
      return greet(event.name);
    case 'loop':
      for (;;) {}
    case 'alloc': {
      const blocks = [];
      for (;;) blocks.push(new Uint8Array(1 << 20).fill(1));
    }
    default:
      return event;
  }
};
