// Prometheus metrics of the running proxy: calls and their timings, upstreams, sessions, the audit log, approvals and governance.
export { LabelCap, OTHER } from './labels.js';
export {
  createProxyMetrics,
  METRIC_NAMES,
  type ProxyMetrics,
  type ProxyMetricsDeps,
} from './proxy-metrics.js';
