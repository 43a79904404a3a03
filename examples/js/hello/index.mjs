// Returning a message: the first example of Lambda's handler guide, for Node.js.
export const handler = async (event, context) => {
  const message = `Hello ${event.first_name} ${event.last_name}!`;
  return { message };
};
