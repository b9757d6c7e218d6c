// The Node 24 client of the benchmark: the same workloads and logic as echo_client.py's uvnet client.
//   node bench/echo_client.mjs MODE (--tcp HOST:PORT | --unix PATH) [-c N] [-s SIZE] [-d SECS] [-w SECS]
//        [--window BYTES] [--nodelay]
// Prints one JSON object in loadgen's shape.
import net from 'node:net';
import { performance } from 'node:perf_hooks';

const argv = process.argv.slice(2);
const a = { mode: argv[0], c: 1, s: 1024, d: 2, w: 0.5, window: 2 * 1024 * 1024, nodelay: false, tcp: null, unix: null };
for (let i = 1; i < argv.length; i++) {
  const k = argv[i];
  if (k === '--tcp') a.tcp = argv[++i];
  else if (k === '--unix') a.unix = argv[++i];
  else if (k === '-c') a.c = Number(argv[++i]);
  else if (k === '-s') a.s = Number(argv[++i]);
  else if (k === '-d') a.d = Number(argv[++i]);
  else if (k === '-w') a.w = Number(argv[++i]);
  else if (k === '--window') a.window = Number(argv[++i]);
  else if (k === '--nodelay') a.nodelay = true;
  else throw new Error(`unknown argument ${k}`);
}

const now = () => performance.now() * 1e6; // ns, as a double
const st = { cpu0: process.cpuUsage(), measuring: a.w <= 0, count: 0, total: 0, bytes: 0, lat: [], tMeas: performance.now(), errors: 0 };
const size = a.s;
const msg = Buffer.alloc(size, 'x');
const sockets = new Set();
let stopped = false;
let rr = 0;

function connect() {
  let opts;
  if (a.unix) opts = { path: a.unix };
  else {
    // HOST:PORT[,PORT...]: round robin over the ports (see echo_client.py's _split)
    const i = a.tcp.lastIndexOf(':');
    const ports = a.tcp.slice(i + 1).split(',');
    rr++;
    opts = { host: a.tcp.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(ports[rr % ports.length]) };
  }
  if (a.nodelay) opts.noDelay = true;
  const s = net.connect(opts);
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
  s.on('error', () => { st.errors++; });
  return s;
}

function pingpongConn() {
  const s = connect();
  let got = 0;
  let t0 = 0;
  s.on('connect', () => { t0 = now(); s.write(msg); });
  s.on('data', (data) => {
    got += data.length;
    if (got >= size) {
      got -= size;
      const t = now();
      if (st.measuring) { st.lat.push(t - t0); st.count++; }
      st.total++;
      t0 = t;
      s.write(msg);
    }
  });
}

function bulkConn() {
  const s = connect();
  let sent = 0, recvd = 0;
  const fill = () => {
    while (sent - recvd + size <= a.window) { s.write(msg); sent += size; }
  };
  s.on('connect', fill);
  s.on('data', (data) => {
    recvd += data.length;
    if (st.measuring) st.bytes += data.length;
    fill();
  });
}

function connrateSlot() {
  if (stopped) return;
  const s = connect();
  const t0 = now();
  s.on('connect', () => s.write('x'));
  let echoed = false;
  s.on('data', () => { echoed = true; s.end(); });
  s.on('close', () => {
    const t = now();
    if (echoed) {
      if (st.measuring) { st.lat.push(t - t0); st.count++; }
      st.total++;
    }
    connrateSlot();
  });
}

function hold(i) {
  if (i >= a.c) { process.stdout.write(JSON.stringify({ ready: i }) + '\n'); return; }
  const s = connect();
  s.on('connect', () => s.write('x'));
  s.on('data', () => hold(i + 1));
  s.on('error', (err) => process.stdout.write(JSON.stringify({ ready: i, error: `connection ${i}: ${err}` }) + '\n'));
}

function result() {
  const secs = st.measuring ? Math.max(1e-9, (st.tEnd - st.tMeas) / 1000) : 0;
  const cpu = process.cpuUsage();
  const out = { mode: a.mode, impl: 'node', conns: a.c, size: a.s, secs, errors: st.errors };
  if (a.mode === 'bulk') {
    out.bytes = st.bytes;
    out.mb_per_s = secs ? st.bytes / secs / 1e6 : 0;
  } else {
    const lat = Float64Array.from(st.lat).sort();
    const n = lat.length;
    const pct = (p) => (n ? lat[Math.min(n - 1, Math.max(0, Math.ceil((p * n) / 100) - 1))] / 1000 : 0);
    let sum = 0;
    for (const v of lat) sum += v;
    out.count = st.count;
    out.total = st.total;
    out.rate = secs ? st.count / secs : 0;
    out.lat_us = { n, mean: n ? sum / n / 1000 : 0, p50: pct(50), p90: pct(90), p99: pct(99), p999: pct(99.9), max: n ? lat[n - 1] / 1000 : 0 };
  }
  out.self_cpu = { user: cpu.user / 1e6, sys: cpu.system / 1e6 };
  // CPU of the measured window only (no start-up or warm-up)
  out.cpu_meas = { user: (cpu.user - st.cpu0.user) / 1e6, sys: (cpu.system - st.cpu0.system) / 1e6 };
  return out;
}

if (a.mode === 'hold') {
  hold(0);
  setTimeout(() => { for (const s of sockets) s.destroy(); }, a.d * 1000);
} else {
  const start = { pingpong: pingpongConn, bulk: bulkConn, connrate: connrateSlot }[a.mode];
  for (let i = 0; i < a.c; i++) start();
  if (a.w > 0) {
    setTimeout(() => { st.cpu0 = process.cpuUsage(); st.measuring = true; st.tMeas = performance.now(); st.count = 0; st.bytes = 0; st.lat = []; }, a.w * 1000);
  }
  setTimeout(() => {
    stopped = true;
    st.tEnd = performance.now();
    process.stdout.write(JSON.stringify(result()) + '\n');
    for (const s of sockets) s.destroy();
  }, (a.w + a.d) * 1000);
}
