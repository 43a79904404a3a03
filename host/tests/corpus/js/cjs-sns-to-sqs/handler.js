'use strict';

const { SQSClient, GetQueueUrlCommand, SendMessageCommand } = require('@aws-sdk/client-sqs');

const sqs = new SQSClient({});

async function forward(event) {
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: process.env.QUEUE_NAME }));
  for (const record of event.Records) {
    await sqs.send(new SendMessageCommand({
      QueueUrl,
      MessageBody: JSON.stringify({ topic: record.Sns.TopicArn.split(':').pop(), text: record.Sns.Message }),
    }));
  }
  return { forwarded: event.Records.length };
}

module.exports = { forward };
