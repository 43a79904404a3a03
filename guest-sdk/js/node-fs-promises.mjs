// Node's `fs/promises`: the promise forms of the SDK's `fs` (node-fs.mjs).
import { promises } from './node-fs.mjs';

export const {
  readFile,
  writeFile,
  appendFile,
  stat,
  lstat,
  readdir,
  mkdir,
  unlink,
  rmdir,
  rm,
  access,
  constants,
} = promises;
export default promises;
