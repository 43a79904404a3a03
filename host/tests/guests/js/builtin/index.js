// A handler that needs a Node.js built-in the sandbox does not have yet.
const crypto = require('crypto');
exports.handler = async () => crypto.randomUUID();
