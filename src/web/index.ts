// The web UI and admin API: build the Hono app, serve it, and manage its credentials.
export { buildWebApp, healthApp, type WebApp, type WebAppOptions } from './app.js';
export { LoginCodes, loadOrCreateToken, type Session, Sessions, WebAuth, WebConfigError } from './auth.js';
export { instanceKey, servesDataDir } from './instance.js';
export type { WebPins } from './routes/pins.js';
export type { ReadyReport } from './routes/public.js';
export {
  DEFAULT_UI_PORT,
  serveWeb,
  WebPortInUseError,
  type WebServer,
  type WebServerOptions,
} from './server.js';
export type { PolicyStatus } from './views/pages.js';
