// Health check: the agent in /fixtures starts on this Node and answers `hello` (so Node is >= 24, the
// fixtures are mounted and readable, and the agent's protocol works). Exit 0 when healthy.
import { spawn } from 'node:child_process';

const agent = process.env.UVNET_AGENT ?? '/fixtures/agent.mjs';
const child = spawn(process.execPath, [agent], { stdio: ['pipe', 'pipe', 'inherit'] });
const timer = setTimeout(() => fail('no answer to hello within 8s'), 8000);
let buffered = '';

function fail(why) {
  process.stderr.write(`unhealthy: ${why}\n`);
  child.kill('SIGKILL');
  process.exit(1);
}

child.on('error', (err) => fail(err.message));
child.on('exit', (code) => {
  if (code !== 0) fail(`agent exited with status ${code}`);
});
child.stdout.on('data', (chunk) => {
  buffered += chunk;
  const line = buffered.split('\n')[0];
  if (!buffered.includes('\n')) return;
  clearTimeout(timer);
  let hello;
  try {
    hello = JSON.parse(line);
  } catch {
    fail(`not JSON: ${line}`);
  }
  if (hello?.k !== 'hello') fail(`unexpected answer ${line}`);
  process.stdout.write(`healthy: ${hello.runtime} ${hello.version}\n`);
  child.stdin.end();
  process.exit(0);
});
child.stdin.write('{"op":"hello"}\n');
