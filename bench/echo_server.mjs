// The Node 24 echo server of the benchmark: the same logic as echo_server.py's servers.
//   node bench/echo_server.mjs (--tcp HOST:PORT | --unix PATH) [--nodelay]
// Every chunk read is written straight back, errors are ignored, the connection closes when the peer
// ends it (allowHalfOpen false).  Nagle stays on (Node's default) unless --nodelay.  Backlog 511 (Node's
// default).  Prints {"listening": PORT} when ready; serves until killed.
import net from 'node:net';

const args = process.argv.slice(2);
let tcp = null, unix = null, nodelay = false;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--tcp') tcp = args[++i];
  else if (args[i] === '--unix') unix = args[++i];
  else if (args[i] === '--nodelay') nodelay = true;
  else throw new Error(`unknown argument ${args[i]}`);
}

const server = net.createServer(nodelay ? { noDelay: true } : {}, (sock) => {
  sock.on('data', (data) => sock.write(data));
  sock.on('error', () => {});
});

function ready() {
  const port = unix ? 0 : server.address().port;
  process.stdout.write(JSON.stringify({ listening: port, pid: process.pid }) + '\n');
}

if (unix) {
  server.listen(unix, ready);
} else {
  const i = tcp.lastIndexOf(':');
  const host = tcp.slice(0, i).replace(/^\[|\]$/g, '');
  server.listen(Number(tcp.slice(i + 1)), host, ready);
}
