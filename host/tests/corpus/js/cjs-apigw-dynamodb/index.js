const { DynamoDBClient } = require('@aws-sdk/client-dynamodb');
const { DynamoDBDocumentClient, PutCommand, GetCommand } = require('@aws-sdk/lib-dynamodb');

const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({}));

const respond = (statusCode, body) => ({
  statusCode,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify(body),
});

exports.handler = async (event) => {
  const table = process.env.TABLE_NAME;
  try {
    switch (event.httpMethod) {
      case 'POST': {
        const item = JSON.parse(event.body);
        await ddb.send(new PutCommand({ TableName: table, Item: item }));
        return respond(201, { created: item.id });
      }
      case 'GET': {
        const { Item } = await ddb.send(new GetCommand({ TableName: table, Key: { id: event.pathParameters.id } }));
        return Item ? respond(200, Item) : respond(404, { message: 'not found' });
      }
      default:
        return respond(405, { message: `Unsupported method ${event.httpMethod}` });
    }
  } catch (err) {
    console.error(err);
    return respond(500, { message: err.message });
  }
};
