const { headline } = require('./lib/format');
const config = require('./config.json');

exports.handler = async (event) => ({
  site: config.site,
  headlines: event.titles.map((t, i) => headline(t, i + 1)),
});
