import { S3Client, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';

const s3 = new S3Client({});

export const handler = async (event) => {
  const bucket = event.Records[0].s3.bucket.name;
  const key = decodeURIComponent(event.Records[0].s3.object.key.replace(/\+/g, ' '));
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const text = await object.Body.transformToString();
  const lines = text.split('\n').filter(Boolean);
  await s3.send(new PutObjectCommand({
    Bucket: bucket,
    Key: `summaries/${key}.json`,
    Body: JSON.stringify({ lines: lines.length, first: lines[0] }),
    ContentType: 'application/json',
  }));
  return { key, lines: lines.length };
};
