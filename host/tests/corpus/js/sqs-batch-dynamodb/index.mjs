import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';

const dynamodb = new DynamoDBClient({});

export const handler = async (event) => {
  const batchItemFailures = [];
  for (const record of event.Records) {
    try {
      const reading = JSON.parse(record.body);
      await dynamodb.send(
        new PutItemCommand({
          TableName: process.env.READINGS_TABLE,
          Item: {
            id: { S: reading.id },
            celsius: { N: String(reading.celsius) },
            source: { S: record.eventSourceARN.split(':').pop() },
          },
        }),
      );
    } catch (error) {
      console.error(`message ${record.messageId} failed: ${error.message}`);
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
};
