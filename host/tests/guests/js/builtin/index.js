// A handler that needs a Node.js built-in the sandbox does not have: files.
const fs = require('fs');
exports.handler = async () => fs.readFileSync('/var/task/data.txt', 'utf8');
