// Child processes that serve HTTP on a port the OS chose (PORT=0, reported back), for upstreams the tests start.

import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { builtFile } from './built.js';
import { LISTENING } from './report-port.js';

/**
 * server-everything over Streamable HTTP, listening on port 0: the port is read from the child
 * (report-port.ts), never picked here and hoped free. Resolves once it listens.
 */
export async function startEverythingHttp(
  bin: string,
): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    ['--import', builtFile('tests/helpers/report-port.ts'), bin, 'streamableHttp'],
    {
      env: { ...process.env, PORT: '0' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server-everything did not listen within 20 s')), 20_000);
    const lines = createInterface({ input: child.stderr as NonNullable<typeof child.stderr> });
    lines.on('line', (line) => {
      if (!line.startsWith(LISTENING)) return;
      clearTimeout(timer);
      resolve(Number(line.slice(LISTENING.length)));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server-everything exited (${code}) before listening`));
    });
  }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  return { url: `http://127.0.0.1:${port}/mcp`, child, stop };
}
