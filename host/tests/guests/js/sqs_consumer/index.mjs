// An SQS consumer as Node.js samples write one: an async handler that
// walks event.Records, parses each body, and answers with the ids it could
// not process (ReportBatchItemFailures). Each processed record is logged on
// its own line for the tests to read in the server's log.

const processRecord = async (record) => {
  const body = JSON.parse(record.body);
  if (body.fail) {
    throw new Error(`cannot process ${body.n}`);
  }
  const group = record.attributes.MessageGroupId ?? '-';
  const kind = record.messageAttributes.kind?.stringValue ?? '-';
  console.log(`processed n=${body.n} group=${group} kind=${kind}`);
};

export const handler = async (event, context) => {
  const batchItemFailures = [];
  for (const record of event.Records) {
    try {
      await processRecord(record);
    } catch (error) {
      console.error(`failed: ${error.message}`);
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
};
