// A handler that needs a Node.js built-in the sandbox does not have: processes.
const { execSync } = require('child_process');
exports.handler = async () => execSync('ls /var/task').toString();
