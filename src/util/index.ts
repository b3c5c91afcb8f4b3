// Small helpers shared by several folders, none of which owns them.
export { closeServer, isLoopback, isWildcard, listenOn, urlHost } from './net.js';
