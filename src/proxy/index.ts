// The proxy's public face: sessions, the gate, the HTTP endpoint, upstream specs and the policy source.

// isLoopback moved to src/util; app.ts and the run command still ask the proxy for it.
export { isLoopback, PACKAGE_VERSION, PROXY_INFO } from '../util/index.js';
export { Ambiguities, type Ambiguity } from './ambiguity.js';
export {
  ArgumentSchemas,
  type SchemaAction,
  type SchemaFinding,
  schemaActionOf,
  type ToolInputSchema,
  toolInputSchema,
  withSchemaReview,
} from './arg-schema.js';
export { Catalog, isPrefixed, type Route, unprefixedServers } from './catalog.js';
export { commandRoots, specRoots } from './command-roots.js';
export { Confusables, nameSkeleton } from './confusables.js';
export {
  type ApprovalQuestion,
  approvalElicitation,
  type ClientDecision,
  canElicitForm,
  elicitVia,
  readAnswer,
} from './elicit.js';
export { expandEnv, expandEnvMap } from './env.js';
export {
  ACCESS_DENIED,
  errorText,
  PolicyLoadError,
  ProxyError,
  RpcError,
  StartRefusedError,
  toRpcError,
  UpstreamConfigError,
} from './errors.js';
export {
  type AccessCall,
  DECISION_META_KEY,
  Gate,
  type GateCall,
  type GateDeps,
  type GateObserver,
} from './gate.js';
export type { Admission, Breach, DecidedCall, GovernedCall, Governor, Standing } from './governor.js';
export { UNGOVERNED, unbooked } from './governor.js';
export {
  DEFAULT_MAX_BODY_BYTES,
  HttpEndpoint,
  type HttpEndpointOptions,
  type HttpListener,
  listen,
} from './http.js';
export { identify, type RegistryKeys } from './http-guard.js';
export { DEFAULT_ROUTING_TIMINGS, type RoutingTimings } from './lists.js';
export { loadTestedPolicy, type PolicyChange, PolicySource } from './policy-source.js';
export { duplicateIdError, RequestGuard } from './request-guard.js';
export {
  RESULT_META_KEY,
  type ResultScanAction,
  resultMask,
  type ScreenedResult,
  screenResult,
} from './result-scan.js';
export type {
  DenyCause,
  Elicit,
  ElicitAnswer,
  ElicitRequest,
  ExecutionReport,
  ReviewHandler,
  ReviewKind,
  ReviewRequest,
  ReviewVerdict,
  WaitingInfo,
} from './review.js';
export { DownstreamSession, type SessionDeps } from './session.js';
export { StdioDownstream } from './stdio-downstream.js';
export type { ToolPins } from './tool-pins.js';
export {
  realUpstreamTransport,
  UpstreamConnection,
  type UpstreamHooks,
  type UpstreamInit,
  type UpstreamTransportFactory,
} from './upstream.js';
export { preflight, UpstreamHealth, type UpstreamStatus } from './upstream-health.js';
export {
  DEFAULT_IDLE_STOP_MS,
  shareModeOf,
  type UpstreamLease,
  UpstreamPool,
  type UpstreamPoolOptions,
} from './upstream-pool.js';
export {
  type CommandUpstream,
  deriveServerName,
  resolveUpstreams,
  type ShareMode,
  serversAndCommandWarning,
  specKey,
  type UpstreamSpec,
} from './upstream-spec.js';
