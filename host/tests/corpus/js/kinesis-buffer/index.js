exports.handler = async (event) => {
  let total = 0;
  const devices = new Set();
  for (const record of event.Records) {
    const payload = JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString('utf8'));
    total += payload.watts;
    devices.add(payload.device);
  }
  console.log(`Successfully processed ${event.Records.length} records.`);
  return { total, devices: [...devices].sort(), encoded: Buffer.from('ok').toString('base64') };
};
