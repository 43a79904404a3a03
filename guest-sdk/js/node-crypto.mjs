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

export default { ...ported, randomUUID, timingSafeEqual, webcrypto };
