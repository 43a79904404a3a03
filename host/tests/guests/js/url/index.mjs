// A function-URL handler in the shape published samples use: it routes on
// rawPath and answers with statusCode, CORS headers, cookies and JSON.
const cors = {
  'access-control-allow-origin': '*',
  'content-type': 'application/json',
};

export const handler = async (event) => {
  const path = event.rawPath;
  const method = event.requestContext.http.method;
  if (path === '/bare') {
    return { hello: 'world', method };
  }
  if (path === '/forged') {
    // A handler that frames its own answer: a length of 0, and a body that
    // is itself an HTTP response a client would read as the next answer.
    return {
      statusCode: 200,
      headers: { 'content-length': '0', 'content-type': 'text/plain' },
      body: 'HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nforged',
    };
  }
  if (path === '/utf16') {
    // A common mistake: the length counted in UTF-16 units, not bytes.
    const body = JSON.stringify({ greeting: 'h\u00e9llo \u{1F44B}' });
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json', 'Content-Length': String(body.length) },
      body,
    };
  }
  if (path === '/boom') {
    throw new Error('the handler failed');
  }
  if (path === '/cookies') {
    return {
      statusCode: 200,
      headers: cors,
      cookies: ['session=abc; HttpOnly', 'theme=dark'],
      body: JSON.stringify({ received: event.cookies ?? [] }),
    };
  }
  if (path === '/binary') {
    const raw = event.isBase64Encoded
      ? Uint8Array.from(atob(event.body), (c) => c.charCodeAt(0))
      : new TextEncoder().encode(event.body);
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/octet-stream' },
      body: btoa(String.fromCharCode(...[...raw].reverse())),
      isBase64Encoded: true,
    };
  }
  return {
    statusCode: method === 'POST' ? 201 : 200,
    headers: cors,
    body: JSON.stringify({
      path,
      method,
      query: event.queryStringParameters ?? null,
      rawQuery: event.rawQueryString,
      headers: event.headers,
      body: event.body ? JSON.parse(event.body) : null,
      routeKey: event.routeKey,
      sourceIp: event.requestContext.http.sourceIp,
      base64: event.isBase64Encoded,
    }),
  };
};
