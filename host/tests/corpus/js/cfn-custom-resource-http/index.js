// A CloudFormation custom resource: does its work, then PUTs the outcome to
// the pre-signed ResponseURL with Node's https (or http) module, the way
// the cfn-response module does.
const https = require('https');
const http = require('http');
const url = require('url');

function respond(event, status, data) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({
      Status: status,
      Reason: `See the details in ${event.LogicalResourceId}`,
      PhysicalResourceId: event.PhysicalResourceId || `${event.LogicalResourceId}-resource`,
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
      NoEcho: false,
      Data: data,
    });
    const target = url.parse(event.ResponseURL);
    const client = target.protocol === 'https:' ? https : http;
    const request = client.request(
      {
        hostname: target.hostname,
        port: target.port,
        path: target.path,
        method: 'PUT',
        headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => {
          text += chunk;
        });
        response.on('end', () => {
          const echoed = JSON.parse(text);
          resolve({
            statusCode: response.statusCode,
            statusMessage: response.statusMessage,
            contentType: response.headers['content-type'],
            method: echoed.method,
            path: echoed.path,
            sentType: echoed.headers['content-type'],
            sentLength: echoed.headers['content-length'],
            sent: JSON.parse(echoed.body),
          });
        });
      },
    );
    request.on('error', reject);
    request.write(body);
    request.end();
  });
}

// A lookup over http.get, read with for await, as newer handlers do.
async function lookup(base, name) {
  const response = await new Promise((resolve, reject) => {
    http.get(`${base}/lookup/${encodeURIComponent(name)}?fresh=1`, resolve).on('error', reject);
  });
  const chunks = [];
  for await (const chunk of response) chunks.push(chunk);
  const echoed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  return { status: response.statusCode, path: echoed.path, method: echoed.method };
}

exports.handler = async (event) => {
  if (event.RequestType === 'Delete') {
    return respond(event, 'SUCCESS', {});
  }
  const found = await lookup(process.env.LOOKUP_URL, event.ResourceProperties.Name);
  return respond(event, 'SUCCESS', { Name: event.ResourceProperties.Name, Lookup: found });
};
