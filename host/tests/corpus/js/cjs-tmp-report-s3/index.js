// Builds a CSV report in /tmp, as handlers do before uploading a file, and
// puts it in S3 with the SDK Lambda provides.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { S3Client, PutObjectCommand } = require('@aws-sdk/client-s3');

const s3 = new S3Client({});

exports.handler = async (event) => {
  const file = path.join(os.tmpdir(), `report-${event.date}.csv`);
  fs.writeFileSync(file, 'sku,qty\n');
  for (const line of event.lines) {
    fs.appendFileSync(file, `${line.sku},${line.qty}\n`);
  }
  const body = fs.readFileSync(file);
  await s3.send(
    new PutObjectCommand({
      Bucket: process.env.BUCKET,
      Key: `reports/${event.date}.csv`,
      Body: body,
      ContentType: 'text/csv',
    }),
  );
  fs.unlinkSync(file);
  return { key: `reports/${event.date}.csv`, bytes: body.length, leftover: fs.existsSync(file) };
};
