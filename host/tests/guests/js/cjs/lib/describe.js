module.exports.describe = (event) => `${Object.keys(event).length} keys`;
