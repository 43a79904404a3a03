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
