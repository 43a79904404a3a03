const zlib = require('zlib');

exports.handler = async (event) => {
  const payload = Buffer.from(event.awslogs.data, 'base64');
  const parsed = JSON.parse(zlib.gunzipSync(payload).toString('utf8'));
  const errors = parsed.logEvents.filter((e) => /ERROR/.test(e.message)).map((e) => e.message);
  return { group: parsed.logGroup, count: parsed.logEvents.length, errors };
};
