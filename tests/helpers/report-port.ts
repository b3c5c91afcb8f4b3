// Preloaded (`node --import`) into an HTTP server child started with PORT=0: prints the port the OS gave it on stderr.

import net from 'node:net';

export const LISTENING = 'portcullis-test: listening on port';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (this: net.Server, ...args: unknown[]) {
  this.once('listening', () => {
    const address = this.address();
    if (typeof address === 'object' && address) process.stderr.write(`${LISTENING} ${address.port}\n`);
  });
  return listen.apply(this, args as Parameters<typeof listen>);
} as typeof listen;
