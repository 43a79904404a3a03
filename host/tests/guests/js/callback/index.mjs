// A callback-style handler, which Lambda's Node.js 24 runtime no longer runs.
export const handler = (event, context, callback) => {
  callback(null, 'never');
};
