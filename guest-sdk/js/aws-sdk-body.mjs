// The body of a streamed AWS SDK response (S3 GetObject's `Body`, Lambda
// InvokeWithResponseStream's chunks, ...) as Lambda's Node.js runtimes hand
// it over: a Node.js `Readable` carrying the SDK's helpers
// (`transformToString`, `transformToByteArray`, `transformToWebStream`).
// The browser build the sandbox runs gives a web `ReadableStream` instead,
// on which handlers written for Lambda fail: `Body.on('data', ...)`,
// `Body.pipe(...)`, `pipeline(Body, ...)`. bundle.mjs routes the SDK's
// `sdkStreamMixin` through here
// (corpus case js/cjs-s3-body-node-stream reads a body each way).
import { Readable } from 'stream';
import { Buffer } from 'buffer';

/// `mixed`: a web stream or Blob that the browser `sdkStreamMixin` gave its
/// helpers. The helpers keep their once-only rule; reading the Readable
/// counts as one use, as on Lambda.
export function nodeBody(mixed) {
  const { transformToByteArray, transformToString, transformToWebStream } = mixed;
  let reader;
  const readable = new Readable({
    async read() {
      try {
        reader ??= transformToWebStream().getReader();
        const { value, done } = await reader.read();
        this.push(done ? null : Buffer.from(value));
      } catch (error) {
        this.destroy(error);
      }
    },
    destroy(error, callback) {
      reader?.cancel(error).catch(() => {});
      callback(error);
    },
  });
  return Object.assign(readable, { transformToByteArray, transformToString, transformToWebStream });
}
