// A REQUEST authorizer in the callback style (runs on nodejs22.x).
exports.handler = function (event, context, callback) {
  const token = event.headers && event.headers.authorization;
  if (token === 'deny') {
    callback(null, policy('user', 'Deny', event.methodArn));
  } else if (token === 'allow') {
    callback(null, policy('user', 'Allow', event.methodArn));
  } else {
    callback('Unauthorized');
  }
};

function policy(principalId, effect, resource) {
  return {
    principalId,
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }] },
    context: { plan: 'pro' },
  };
}
