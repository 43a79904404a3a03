// A streaming handler in the shape Lambda's samples use:
// awslambda.streamifyResponse around an async function that writes to the
// response stream, with awslambda.HttpResponseStream.from for a function URL.
const sleep = (millis) => new Promise((resolve) => setTimeout(resolve, millis));

export const handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  const path = event.rawPath ?? event.path ?? '/';
  if (event.requestContext?.http) {
    responseStream = awslambda.HttpResponseStream.from(responseStream, {
      statusCode: path === '/created' ? 201 : 200,
      headers: { 'content-type': 'text/plain', 'x-request': context.awsRequestId },
      cookies: ['streamed=yes'],
    });
  } else {
    responseStream.setContentType('text/plain');
  }
  console.log('streaming', path);
  if (path === '/slow') {
    responseStream.write('first\n');
    await sleep(500);
    responseStream.write('second\n');
    responseStream.end();
    return;
  }
  if (path === '/fail') {
    responseStream.write('partial\n');
    await sleep(10);
    throw new Error('the stream broke');
  }
  for (let n = 0; n < (event.count ?? 3); n += 1) {
    responseStream.write(`chunk ${n}\n`);
    await sleep(5);
  }
  responseStream.write(new Uint8Array([0x62, 0x79, 0x65, 0x0a]));
  responseStream.end();
});
