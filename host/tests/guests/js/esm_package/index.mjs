// An ES module handler that imports an npm package (CommonJS inside).
import shout from 'shout';

export const handler = async (event) => ({ loud: shout(event.text ?? 'quiet') });
