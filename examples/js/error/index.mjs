// Throws a ReferenceError: shows the error JSON of Lambda's Node.js runtime.
export const handler = async (event, context) => {
  return { result: increment(event.number) };
};
