// Refuses to start without its configuration, as many published handlers
// do at module level.
const table = process.env.TABLE_NAME;
if (!table) {
  throw new Error('TABLE_NAME is not set');
}

export const handler = async () => ({ table });
