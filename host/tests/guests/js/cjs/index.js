// A CommonJS handler as most published Node.js samples are written:
// `exports.handler`, `require` of a local file, a JSON file and a package.
const { describe } = require('./lib/describe');
const settings = require('./settings.json');
const greetingKit = require('greeting-kit');

exports.handler = async (event, context) => {
  return {
    greeting: greetingKit.greet(event.name ?? 'world'),
    described: describe(event),
    stage: settings.stage,
    requestIdLength: context.awsRequestId.length,
  };
};
