// An API handler in the shape of SAM's Node.js starter templates: the table
// name, the client and the log line all live at module level, read once in
// the init phase.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';

const tableName = process.env.ORDERS_TABLE;
const stage = process.env.STAGE ?? 'dev';
if (!tableName) {
  throw new Error('ORDERS_TABLE is not configured');
}
const ddbDocClient = DynamoDBDocumentClient.from(new DynamoDBClient({}));
console.info(`orders handler ready for ${tableName} (${stage})`);

export const ordersHandler = async (event) => {
  if (event.httpMethod === 'POST') {
    const order = JSON.parse(event.body);
    await ddbDocClient.send(new PutCommand({ TableName: tableName, Item: { ...order, stage } }));
    return { statusCode: 201, body: JSON.stringify({ id: order.id, table: tableName }) };
  }
  const data = await ddbDocClient.send(new ScanCommand({ TableName: tableName }));
  return { statusCode: 200, body: JSON.stringify({ count: data.Items.length, stage }) };
};
