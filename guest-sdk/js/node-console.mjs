// `console` (and `node:console`): the global console, with Node's `Console`
// class for loggers that make their own over streams (Powertools' logger
// writes to `new Console({ stdout: process.stdout, stderr: process.stderr })`).
import { format, inspect } from 'util';

export class Console {
  #counts = new Map();
  #timers = new Map();
  #indent = '';

  constructor(stdout, stderr) {
    if (stdout && typeof stdout.write !== 'function') ({ stdout, stderr } = stdout);
    if (!stdout || typeof stdout.write !== 'function') {
      throw new TypeError('The "stdout" argument must be a writable stream');
    }
    this._stdout = stdout;
    this._stderr = stderr ?? stdout;
    for (const name of Object.getOwnPropertyNames(Console.prototype)) {
      if (name !== 'constructor') this[name] = this[name].bind(this);
    }
  }

  #write(stream, args) {
    const text = format(...args);
    stream.write(`${this.#indent}${text.split('\n').join(`\n${this.#indent}`)}\n`);
  }

  log(...args) {
    this.#write(this._stdout, args);
  }

  info(...args) {
    this.#write(this._stdout, args);
  }

  debug(...args) {
    this.#write(this._stdout, args);
  }

  warn(...args) {
    this.#write(this._stderr, args);
  }

  error(...args) {
    this.#write(this._stderr, args);
  }

  trace(...args) {
    const stack = new Error().stack.split('\n').slice(1).join('\n');
    this.#write(this._stderr, [`Trace: ${format(...args)}\n${stack}`]);
  }

  dir(value, options) {
    this.#write(this._stdout, [inspect(value, options)]);
  }

  assert(condition, ...args) {
    if (!condition) this.warn('Assertion failed', ...args);
  }

  count(label = 'default') {
    const count = (this.#counts.get(label) ?? 0) + 1;
    this.#counts.set(label, count);
    this.log(`${label}: ${count}`);
  }

  countReset(label = 'default') {
    this.#counts.delete(label);
  }

  time(label = 'default') {
    this.#timers.set(label, performance.now());
  }

  timeLog(label = 'default', ...args) {
    const started = this.#timers.get(label);
    if (started !== undefined)
      this.log(`${label}: ${(performance.now() - started).toFixed(3)}ms`, ...args);
  }

  timeEnd(label = 'default') {
    this.timeLog(label);
    this.#timers.delete(label);
  }

  group(...args) {
    if (args.length) this.log(...args);
    this.#indent += '  ';
  }

  groupEnd() {
    this.#indent = this.#indent.slice(2);
  }

  table(data) {
    this.log(data);
  }
}

globalThis.console.Console ??= Console;

export default globalThis.console;
