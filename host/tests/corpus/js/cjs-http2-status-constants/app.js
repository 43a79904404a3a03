'use strict';
// Status codes and header names from `http2.constants`, a common way to
// avoid magic numbers in Node.js handlers. The `inspect` route answers
// with the module's whole surface, so the case compares it with Node's.
const http2 = require('http2');

const {
  HTTP_STATUS_OK,
  HTTP_STATUS_BAD_REQUEST,
  HTTP_STATUS_NOT_FOUND,
  HTTP2_HEADER_CONTENT_TYPE,
  HTTP2_HEADER_CACHE_CONTROL,
} = http2.constants;

const respond = (statusCode, body) => ({
  statusCode,
  headers: { [HTTP2_HEADER_CONTENT_TYPE]: 'application/json', [HTTP2_HEADER_CACHE_CONTROL]: 'no-store' },
  body: JSON.stringify(body),
});

exports.handler = async (event) => {
  if (event.path === '/inspect') {
    const packed = http2.getPackedSettings({ headerTableSize: 8192, enablePush: false, maxFrameSize: 32768 });
    return respond(HTTP_STATUS_OK, {
      functions: ['connect', 'createServer', 'getDefaultSettings', 'getPackedSettings'].map(
        (name) => typeof http2[name],
      ),
      constants: http2.constants,
      defaults: { ...http2.getDefaultSettings() },
      packed: packed.toString('base64'),
      unpacked: http2.getUnpackedSettings(packed),
      sensitiveHeaders: typeof http2.sensitiveHeaders,
    });
  }
  if (event.path === '/greet') {
    const name = event.queryStringParameters && event.queryStringParameters.name;
    if (!name) return respond(HTTP_STATUS_BAD_REQUEST, { message: 'name is required' });
    return respond(HTTP_STATUS_OK, { message: `hello ${name}` });
  }
  return respond(HTTP_STATUS_NOT_FOUND, { message: `no route ${event.path}` });
};
