// Returning a calculation. A plain (not async) handler works too.
export const handler = (event, context) => {
  let result = null;
  const action = event.action;
  if (action === 'increment') {
    result = (event.number ?? 0) + 1;
    console.info(`Calculated result of ${result}`);
  } else {
    console.error(`${action} is not a valid action.`);
  }
  return { result };
};
