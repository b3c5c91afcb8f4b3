// Small helpers shared by several folders, none of which owns them.

export { type HostGuardOptions, type HostGuardRefusal, hostGuard } from './host-guard.js';
export { closeServer, isLoopback, isWildcard, listenOn, urlHost } from './net.js';
