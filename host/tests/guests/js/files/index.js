// A CommonJS handler that reads its own files the way published handlers
// do (path.join(__dirname, ...), a relative path, fs.promises) and uses /tmp.
const fs = require('fs');
const path = require('path');
const { readFile } = require('fs/promises');

// Read once, at module level, as handlers load their configuration.
const config = JSON.parse(fs.readFileSync(path.join(__dirname, 'data', 'config.json'), 'utf8'));

function failure(run) {
  try {
    run();
    return null;
  } catch (error) {
    return { code: error.code, syscall: error.syscall, message: error.message };
  }
}

exports.handler = async (event) => {
  const template = await readFile('./templates/greeting.txt', 'utf8');
  fs.writeFileSync('/tmp/out.txt', 'written');
  fs.appendFileSync('/tmp/out.txt', ' and appended');
  fs.mkdirSync('/tmp/a/b', { recursive: true });
  const copied = await new Promise((resolve, reject) => {
    fs.readFile(path.join(__dirname, 'data', 'config.json'), (error, data) =>
      error ? reject(error) : resolve(Buffer.isBuffer(data) && data.length),
    );
  });
  return {
    config,
    dirname: __dirname,
    greeting: template.trim().replace('{name}', event.name),
    tmp: fs.readFileSync('/tmp/out.txt', 'utf8'),
    bytes: copied,
    listing: fs.readdirSync(__dirname),
    dirs: fs
      .readdirSync('/tmp', { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name),
    exists: [
      fs.existsSync('data/config.json'),
      fs.existsSync('/var/task/nope'),
      fs.existsSync('/etc/passwd'),
    ],
    size: fs.statSync('data/config.json').size,
    isDirectory: fs.statSync('templates').isDirectory(),
    missing: failure(() => fs.readFileSync('/var/task/nope.json')),
    readOnly: failure(() => fs.writeFileSync(path.join(__dirname, 'new.txt'), 'x'))?.code,
    outside: failure(() => fs.readFileSync('/etc/passwd'))?.code,
  };
};
