// Bench path: a raw byte relay (stdin -> child stdin, child stdout -> stdout), the floor of any stdio proxy.
import { spawn } from 'node:child_process';

const [command, ...args] = process.argv.slice(2);
const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
process.stdin.pipe(child.stdin);
child.stdout.pipe(process.stdout);
// The client closing stdin ends the relay and its child, as a real proxy must.
process.stdin.on('end', () => child.kill());
child.on('exit', (code) => process.exit(code ?? 0));
