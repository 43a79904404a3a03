// Configuration from Parameter Store and Secrets Manager, loaded once per
// sandbox, then a receipt written to S3 through a tuned Node.js request
// handler. No package.json: every import is one Lambda's runtime provides.
import { SSMClient, GetParameterCommand, GetParametersByPathCommand } from '@aws-sdk/client-ssm';
import { SecretsManagerClient, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { S3Client, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createHmac } from 'node:crypto';

const requestHandler = new NodeHttpHandler({ connectionTimeout: 3000, requestTimeout: 10000 });
const ssm = new SSMClient({ requestHandler });
const secrets = new SecretsManagerClient({});
const s3 = new S3Client({ requestHandler });

let config;
let loads = 0;

async function loadConfig() {
  if (config) return config;
  const prefix = process.env.CONFIG_PATH;
  const [settings, bucket, secret] = await Promise.all([
    ssm.send(
      new GetParametersByPathCommand({
        Path: `${prefix}/settings`,
        Recursive: true,
        WithDecryption: true,
      }),
    ),
    ssm.send(new GetParameterCommand({ Name: `${prefix}/bucket` })),
    secrets.send(new GetSecretValueCommand({ SecretId: process.env.SIGNING_SECRET_ID })),
  ]);
  const named = Object.fromEntries(
    settings.Parameters.map((parameter) => [parameter.Name.split('/').pop(), parameter.Value]),
  );
  // An object's Body, read through the Node.js request handler.
  const footer = await s3.send(
    new GetObjectCommand({ Bucket: bucket.Parameter.Value, Key: 'config/footer.txt' }),
  );
  loads += 1;
  config = {
    footer: (await footer.Body.transformToString()).trim(),
    bucket: bucket.Parameter.Value,
    currency: named.currency,
    taxRate: Number(named['tax-rate']),
    signingKey: JSON.parse(secret.SecretString).key,
  };
  return config;
}

export const handler = async (event) => {
  const { bucket, currency, taxRate, signingKey, footer } = await loadConfig();
  const subtotal = event.items.reduce((sum, item) => sum + item.price * item.quantity, 0);
  const total = Math.round(subtotal * (1 + taxRate) * 100) / 100;
  const receipt = { orderId: event.orderId, currency, subtotal, total };
  const signature = createHmac('sha256', signingKey).update(JSON.stringify(receipt)).digest('hex');
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: `receipts/${event.orderId}.json`,
      Body: JSON.stringify({ ...receipt, signature: signature.slice(0, 16) }),
      ContentType: 'application/json',
    }),
  );
  return { ...receipt, footer, configLoads: loads };
};
