const serverless = require('serverless-http');
const app = require('./app');

const handle = serverless(app);

module.exports.handler = async (event, context) => {
  if (!event.requestContext) {
    throw new TypeError(`not an HTTP event: ${Object.keys(event).join(',')}`);
  }
  return handle(event, context);
};
