// A TOKEN authorizer in the callback style published samples use, for
// Lambda's Node.js 20 and 22 runtimes.
function policy(principalId, effect, resource) {
  return {
    principalId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }],
    },
    context: { executionEnv: process.env.AWS_EXECUTION_ENV },
  };
}

exports.handler = function (event, context, callback) {
  switch (event.authorizationToken) {
    case 'allow':
      callback(null, policy('user', 'Allow', event.methodArn));
      break;
    case 'deny':
      callback(null, policy('user', 'Deny', event.methodArn));
      break;
    case 'unauthorized':
      callback('Unauthorized');
      break;
    case 'succeed':
      context.succeed({ via: 'context.succeed' });
      break;
    default:
      callback(new Error('Invalid token'));
  }
};
