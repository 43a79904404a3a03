// `crypto` / `node:crypto` for bundled handlers: crypto-browserify (hashes,
// HMACs, ciphers, random bytes, ...), plus the newer functions Node added
// later, on top of the engine's Web Crypto.
import ported from 'crypto-browserify';

/** A random v4 UUID, as Node's `crypto.randomUUID()`. */
export function randomUUID() {
  return globalThis.crypto.randomUUID();
}

/** Constant-time comparison, as Node's `crypto.timingSafeEqual(a, b)`. */
export function timingSafeEqual(a, b) {
  if (a.length !== b.length) {
    throw new RangeError('Input buffers must have the same byte length');
  }
  let difference = 0;
  for (let index = 0; index < a.length; index += 1) {
    difference |= a[index] ^ b[index];
  }
  return difference === 0;
}

/**
 * A uniformly random integer in [min, max), as Node's
 * `crypto.randomInt([min, ]max[, callback])` (rejection sampling over 48
 * random bits, so no value is likelier than another).
 */
export function randomInt(min, max, callback) {
  if (max === undefined || typeof max === 'function') {
    callback = max;
    max = min;
    min = 0;
  }
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max)) {
    throw new TypeError('The "min" and "max" arguments must be safe integers');
  }
  const range = max - min;
  if (range <= 0 || range > 2 ** 48) {
    throw new RangeError(
      `The value of "max" is out of range. It must be greater than the value of "min" (${min}) and at most ${min + 2 ** 48}`,
    );
  }
  const limit = 2 ** 48 - (2 ** 48 % range);
  const words = new Uint16Array(3);
  let value;
  do {
    globalThis.crypto.getRandomValues(words);
    value = words[0] * 2 ** 32 + words[1] * 2 ** 16 + words[2];
  } while (value >= limit);
  const result = min + (value % range);
  if (typeof callback === 'function') {
    queueMicrotask(() => callback(null, result));
    return undefined;
  }
  return result;
}

export const webcrypto = globalThis.crypto;
export const {
  createHash,
  createHmac,
  randomBytes,
  pseudoRandomBytes,
  getHashes,
  pbkdf2,
  pbkdf2Sync,
  createCipheriv,
  createDecipheriv,
  getCiphers,
  createDiffieHellman,
  createECDH,
  createSign,
  createVerify,
  publicEncrypt,
  privateDecrypt,
  randomFill,
  randomFillSync,
  constants,
} = ported;

export default { ...ported, randomUUID, randomInt, timingSafeEqual, webcrypto };
