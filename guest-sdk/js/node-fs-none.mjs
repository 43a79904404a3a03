// No embedded files: the table node-fs.mjs reads during initialisation.
export default {};
