// S3 objects read the ways handlers written before `transformToString`
// read them: a Node.js stream's `data`/`end` events, `pipeline` into a
// file under /tmp (read back with a ranged read stream), and `for await`
// over the body.
const fs = require('fs');
const { pipeline } = require('stream/promises');
const { Readable } = require('stream');
const { S3Client, GetObjectCommand } = require('@aws-sdk/client-s3');

const s3 = new S3Client({});

const streamToString = (stream) =>
  new Promise((resolve, reject) => {
    const chunks = [];
    stream.on('data', (chunk) => chunks.push(chunk));
    stream.on('error', reject);
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });

const get = (Bucket, Key) => s3.send(new GetObjectCommand({ Bucket, Key }));

exports.handler = async (event) => {
  const { bucket, key } = event;

  const first = await get(bucket, key);
  const viaEvents = await streamToString(first.Body);

  const second = await get(bucket, key);
  await pipeline(second.Body, fs.createWriteStream('/tmp/copy.csv'));
  const viaFile = fs.readFileSync('/tmp/copy.csv', 'utf8');
  const header = await streamToString(fs.createReadStream('/tmp/copy.csv', { start: 0, end: 6 }));

  const third = await get(bucket, key);
  let bytes = 0;
  for await (const chunk of third.Body) {
    bytes += chunk.length;
  }

  const fourth = await get(bucket, key);
  const viaMixin = await fourth.Body.transformToString('base64');

  return {
    isReadable: first.Body instanceof Readable,
    viaEvents,
    viaFile,
    header,
    bytes,
    viaMixin,
  };
};
