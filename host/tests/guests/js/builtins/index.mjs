// Node.js built-ins as published handlers use them: a Kinesis-style base64
// decode with Buffer, a CloudWatch-Logs-style gunzip, digests and HMACs,
// and the everyday helpers. Deterministic, so that the test can compare the
// answer with Node's own for the same file.
import { createHash, createHmac, randomUUID, randomBytes, timingSafeEqual } from 'node:crypto';
import zlib from 'zlib';
import util from 'util';
import path from 'path';
import { EventEmitter } from 'events';
import querystring from 'querystring';
import { URL } from 'url';
import { StringDecoder } from 'string_decoder';
import assert from 'assert';
import { Readable, Transform, Writable, pipeline } from 'stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import { setTimeout as sleep } from 'timers/promises';
import { types } from 'util';
import { isPromise, isDate } from 'node:util/types';

export const handler = async (event) => {
  const record = Buffer.from(event.data ?? 'eyJvcmRlciI6NDJ9', 'base64').toString('utf8');
  const compressed = zlib.gzipSync(Buffer.from(JSON.stringify({ logEvents: [{ message: 'a' }] })));
  const emitter = new EventEmitter();
  let heard = 0;
  emitter.on('tick', (n) => {
    heard += n;
  });
  emitter.emit('tick', 2);
  const url = new URL('https://example.com:8443/a/b?x=1&y=two#frag');
  const decoder = new StringDecoder('utf8');
  assert.strictEqual(1 + 1, 2);
  const chunks = [];
  await new Promise((resolve, reject) => {
    const source = new Readable({ read() {} });
    const upper = new Transform({
      transform(chunk, _encoding, done) {
        done(null, chunk.toString().toUpperCase());
      },
    });
    const sink = new Writable({
      write(chunk, _encoding, done) {
        chunks.push(chunk.toString());
        done();
      },
    });
    pipeline(source, upper, sink, (error) => (error ? reject(error) : resolve()));
    ['a', 'b', 'c'].forEach((piece) => source.push(piece));
    source.push(null);
  });
  // Newer stream and timer forms: Readable.from, stream/promises,
  // timers/promises, util/types.
  const collected = [];
  await pipelineAsync(
    Readable.from(['x', 'y', 'z']),
    new Writable({
      write(chunk, _encoding, done) {
        collected.push(chunk.toString());
        done();
      },
    }),
  );
  const slept = await sleep(5, 'woke');
  return {
    fromIterable: collected.join(''),
    slept,
    typeChecks: [isPromise(Promise.resolve()), isDate(new Date()), types.isRegExp(/x/)],
    record,
    gunzipped: JSON.parse(zlib.gunzipSync(compressed).toString()),
    deflated: zlib.inflateSync(zlib.deflateSync(Buffer.from('round trip'))).toString(),
    sha1: createHash('sha1').update('abc').digest('hex'),
    sha256: createHash('sha256').update('abc').digest('base64'),
    sha512: createHash('sha512').update('abc').digest('hex').slice(0, 32),
    md5: createHash('md5').update('abc').digest('hex'),
    hmac: createHmac('sha256', 'secret').update('message').digest('hex'),
    equal: timingSafeEqual(Buffer.from('abc'), Buffer.from('abc')),
    uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(
      randomUUID(),
    ),
    randomLength: randomBytes(16).length,
    format: util.format('%s has %d items (%j)', 'cart', 3, { ok: true }),
    inspect: util.inspect({ a: [1, 2], b: 'x' }),
    promisified: typeof util.promisify(setTimeout),
    joined: path.join('/var/task', 'lib', '../data.json'),
    parsedPath: path.parse('/var/task/index.mjs').name,
    heard,
    host: url.hostname,
    search: url.searchParams.get('y'),
    query: querystring.parse('a=1&b=x%20y&a=2'),
    decoded: decoder.write(Buffer.from([0xe2, 0x82, 0xac])),
    streamed: chunks.join(''),
    hex: Buffer.from('hi').toString('hex'),
    concat: Buffer.concat([Buffer.from('a'), Buffer.from('b')]).toString(),
  };
};
