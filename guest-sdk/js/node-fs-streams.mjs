// `fs.createReadStream` and `fs.createWriteStream` over the SDK's `fs`
// (node-fs.mjs), as `stream` Readables and Writables: for
// `Body.pipe(fs.createWriteStream('/tmp/x'))`, `pipeline(...)` and reading
// /tmp files as streams. Bundled only into functions that may use them
// (node-fs.mjs says which).
import { Buffer } from 'buffer';
import { Readable, Writable } from 'stream';
import { appendFileSync, readFileSync, writeFileSync } from 'fs';

// As in Node, the write stream creates (or truncates) its file at once, and
// an error opening it comes as an 'error' event.
export function createWriteStream(path, options) {
  const settings = typeof options === 'string' ? { encoding: options } : (options ?? {});
  const append = (settings.flags ?? 'w').startsWith('a');
  const stream = new Writable({
    decodeStrings: false,
    write(chunk, encoding, callback) {
      try {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk;
        appendFileSync(path, bytes);
        stream.bytesWritten += bytes.length;
        callback();
      } catch (error) {
        callback(error);
      }
    },
  });
  stream.path = path;
  stream.bytesWritten = 0;
  stream.pending = false;
  try {
    if (append) {
      appendFileSync(path, '');
    } else {
      writeFileSync(path, '');
    }
    queueMicrotask(() => {
      stream.emit('open', 3);
      stream.emit('ready');
    });
  } catch (error) {
    queueMicrotask(() => stream.destroy(error));
  }
  return stream;
}

// Reads the file (or its `start`..`end` bytes, both included) in 64 KiB
// chunks.
export function createReadStream(path, options) {
  const settings = typeof options === 'string' ? { encoding: options } : (options ?? {});
  const chunk = settings.highWaterMark ?? 64 * 1024;
  let data;
  let offset = settings.start ?? 0;
  const stream = new Readable({
    encoding: settings.encoding,
    highWaterMark: chunk,
    read() {
      try {
        data ??= readFileSync(path);
        const stop = Math.min(data.length, (settings.end ?? Infinity) + 1);
        if (offset >= stop) {
          this.push(null);
          return;
        }
        const next = Math.min(stop, offset + chunk);
        stream.bytesRead += next - offset;
        this.push(data.subarray(offset, next));
        offset = next;
      } catch (error) {
        this.destroy(error);
      }
    },
  });
  stream.path = path;
  stream.bytesRead = 0;
  return stream;
}
