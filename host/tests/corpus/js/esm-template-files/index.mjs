// Renders a notification from a template shipped with the function, read
// once at module level (path.resolve from the task root), with the list of
// locales found next to it.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

const templates = path.resolve('templates');
const layout = readFileSync(path.join(templates, 'layout.html'), 'utf8');
const locales = readdirSync(templates)
  .filter((name) => name.endsWith('.json'))
  .map((name) => name.replace('.json', ''));

export const handler = async (event) => {
  const locale = locales.includes(event.locale) ? event.locale : 'en';
  const strings = JSON.parse(readFileSync(path.join(templates, `${locale}.json`), 'utf8'));
  const html = layout
    .replace('{{greeting}}', strings.greeting)
    .replace('{{name}}', event.name ?? 'there');
  return { locale, locales, html: html.trim() };
};
