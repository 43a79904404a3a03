// `module.exports = { handler }` in a .cjs file; the handler setting names it.
async function handler(event) {
  return { doubled: (event.n ?? 0) * 2 };
}
module.exports = { handler };
