// Exports no `handler`.
export const other = async () => 'not the handler';
