// Runs one invocation of a handler under this machine's Node.js, called as
// Lambda's Node.js runtime calls it, and prints what Lambda would answer:
// the result's JSON, or `{"errorType": ..., "errorMessage": ...}`, on the last
// line of stdout (the handler may log there too). The
// corpus tests (host/tests/it/corpus.rs) compare the sandbox's answers with
// these for cases that set `"node": true`.
//
//   node node_lambda.mjs <code-folder> <handler setting> <event JSON>
//
// The environment is the caller's (the test passes the case's variables).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [root, setting, eventText] = process.argv.slice(2);
const dot = setting.lastIndexOf('.');
const [moduleName, handlerName] = [setting.slice(0, dot), setting.slice(dot + 1)];

let answered = false;
function answer(text) {
  if (answered) return;
  answered = true;
  process.stdout.write(`${text}\n`);
  process.exit(0);
}

function failure(error) {
  const isError = error instanceof Error;
  return JSON.stringify({
    errorType: isError ? error.name : typeof error,
    errorMessage: isError ? error.message : String(error),
  });
}

// What Lambda's runtime interface client does with either.
process.on('unhandledRejection', (reason) => {
  answer(
    JSON.stringify({
      errorType: 'Runtime.UnhandledPromiseRejection',
      errorMessage: reason?.toString() ?? '',
    }),
  );
});
process.on('uncaughtException', (error) => answer(failure(error)));

const file = ['.mjs', '.js', '.cjs']
  .map((extension) => join(root, `${moduleName}${extension}`))
  .find((candidate) => existsSync(candidate));
const namespace = await import(pathToFileURL(file).href);
const handler = namespace[handlerName] ?? namespace.default?.[handlerName];

const deadline = Date.now() + 60_000;
const context = {
  functionName: 'corpus',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:corpus',
  memoryLimitInMB: '128',
  awsRequestId: '00000000-0000-4000-8000-000000000000',
  logGroupName: '/aws/lambda/corpus',
  logStreamName: 'stream',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => deadline - Date.now(),
};

const event = JSON.parse(eventText);
const done = (error, result) =>
  error === null || error === undefined
    ? answer(JSON.stringify(result === undefined ? null : result))
    : answer(failure(error));
try {
  const returned = handler.length >= 3 ? handler(event, context, done) : handler(event, context);
  if (returned && typeof returned.then === 'function') {
    returned.then(
      (value) => done(null, value),
      (error) => done(error),
    );
  }
} catch (error) {
  done(error);
}
