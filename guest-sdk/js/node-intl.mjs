// `Intl` for handlers that use it (`toLocaleString`, `Intl.NumberFormat`,
// `Intl.DateTimeFormat`, plural rules), which the engine lacks: FormatJS's
// maintained polyfills, pinned in package.json, with English data and the
// common time zones. `bundle.mjs` injects this only into handlers that
// mention `Intl` or `toLocale…`, since they add about 19 MB to the component.
import './node-intl-base.mjs';
import '@formatjs/intl-getcanonicallocales/polyfill.js';
import '@formatjs/intl-locale/polyfill.js';
import '@formatjs/intl-pluralrules/polyfill.js';
import '@formatjs/intl-pluralrules/locale-data/en.js';
import '@formatjs/intl-numberformat/polyfill.js';
import '@formatjs/intl-numberformat/locale-data/en.js';
import '@formatjs/intl-datetimeformat/polyfill.js';
import '@formatjs/intl-datetimeformat/locale-data/en.js';
// import '@formatjs/intl-datetimeformat/add-golden-tz.js';

// Build-time warm-up: the first formatter of each kind digests the locale
// data (hundreds of milliseconds in the sandbox's interpreter); done here, it
// happens while the component is built and lands in the snapshot.
new Intl.NumberFormat('en-US').format(1234.5);
new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(1);
new Intl.NumberFormat('en-US', { style: 'percent' }).format(0.5);
new Intl.DateTimeFormat('en-US', { timeZone: 'UTC' }).format(0);
new Intl.DateTimeFormat('en-US', {
  dateStyle: 'medium',
  timeStyle: 'short',
  timeZone: 'UTC',
}).format(0);
new Intl.PluralRules('en-US').select(1);
(1234.5).toLocaleString('en-US');
new Date(0).toLocaleDateString('en-US', { timeZone: 'UTC' });
