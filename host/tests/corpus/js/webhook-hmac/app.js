import { createHmac, createHash, timingSafeEqual, randomUUID } from 'node:crypto';

export const handler = async (event) => {
  const secret = process.env.WEBHOOK_SECRET;
  const body = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  const expected = createHmac('sha256', secret).update(body).digest('hex');
  const given = event.headers['x-signature'] ?? '';
  const valid = given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
  if (!valid) {
    return { statusCode: 401, body: JSON.stringify({ message: 'bad signature' }) };
  }
  return {
    statusCode: 200,
    body: JSON.stringify({
      digest: createHash('sha256').update(body).digest('hex'),
      md5: createHash('md5').update(body).digest('base64'),
      id: randomUUID().length,
    }),
  };
};
