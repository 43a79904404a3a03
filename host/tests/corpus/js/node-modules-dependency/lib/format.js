const titleCase = require('title-case-lite');
const { format } = require('util');
module.exports.headline = (text, n) => format('%d. %s', n, titleCase(text));
