// The cold-start benchmark's AWS SDK handler: a DynamoDB document client
// created at module level, as published handlers do; it answers without
// calling AWS (the figure is the SDK, not the network).
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));

export const handler = async () => ({ ok: typeof client.send === 'function' });
