// Parsing a response: returns the region the function runs in, read from the
// environment at invocation time.
export const handler = async (event, context) => {
  const region = process.env.AWS_REGION;
  return {
    statusCode: 200,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ 'Region ': region }),
  };
};
