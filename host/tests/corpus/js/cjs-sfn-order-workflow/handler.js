'use strict';
// An API Gateway endpoint that hands each order to a Step Functions workflow
// and answers 202 with the execution, as the SAM "order workflow" shape
// does. CommonJS, no package.json: the client comes with Lambda's runtime.
const { SFNClient, StartExecutionCommand, DescribeExecutionCommand } = require('@aws-sdk/client-sfn');

const sfn = new SFNClient({ region: process.env.AWS_REGION });

module.exports.submit = async (event) => {
  let order;
  try {
    order = JSON.parse(event.body || '{}');
  } catch (error) {
    return { statusCode: 400, body: JSON.stringify({ message: 'the body is not JSON' }) };
  }
  if (!order.orderId) {
    return { statusCode: 400, body: JSON.stringify({ message: 'orderId is required' }) };
  }
  const started = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: process.env.STATE_MACHINE_ARN,
      name: `order-${order.orderId}`,
      input: JSON.stringify({ orderId: order.orderId, lines: order.lines || [] }),
    }),
  );
  const described = await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
  return {
    statusCode: 202,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      execution: started.executionArn.split(':').pop(),
      machine: described.stateMachineArn.split(':').pop(),
      started: started.startDate instanceof Date,
    }),
  };
};
