// Node.js globals that the sandbox's engine lacks, injected into bundled
// handlers by bundle.mjs: a reference to `Buffer` anywhere in the handler's
// code resolves to this one.
import { Buffer } from 'buffer';

export { Buffer };
