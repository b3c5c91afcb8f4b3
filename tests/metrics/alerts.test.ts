// The alert rules and the README name only metrics a running proxy exports: a renamed metric breaks the build, not the pager.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO } from '../helpers/peers.js';
import { type FixtureProxy, startFixtureProxy } from '../helpers/proxy.js';
import { declared, scrape } from './scrape.js';

interface Rules {
  groups: Array<{ name: string; rules: Array<{ alert?: string; expr: string }> }>;
}

/** The metric families an expression reads (a histogram's _bucket, _count and _sum are its family). */
function metricsOf(expr: string): string[] {
  return [...expr.matchAll(/\bportcullis_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, ''));
}

let proxy: FixtureProxy;
let families: Map<string, string>;

beforeAll(async () => {
  proxy = await startFixtureProxy({
    policy: 'version: 2\ndefault: deny\nrules:\n  - { id: all, match: "*", decision: allow }\n',
    upstream: 'in-process',
  });
  families = declared(await scrape(new URL('/metrics', proxy.url).toString()));
});
afterAll(async () => {
  await proxy?.close();
});

describe('deploy/prometheus/alerts.yml', () => {
  it('reads only metrics that /metrics exports', async () => {
    const rules = parse(await readFile(path.join(REPO, 'deploy/prometheus/alerts.yml'), 'utf8')) as Rules;
    const alerts = rules.groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined);
    expect(alerts.map((a) => a.alert)).toEqual(
      expect.arrayContaining([
        'PortcullisAuditWritesFailing',
        'PortcullisUpstreamDown',
        'PortcullisApprovalsPilingUp',
        'PortcullisAgentSuspended',
        'PortcullisRateLimitingSustained',
      ]),
    );
    const used = new Set(alerts.flatMap((a) => metricsOf(a.expr)));
    expect(used.size).toBeGreaterThanOrEqual(5);
    const missing = [...used].filter((name) => !families.has(name));
    expect(missing).toEqual([]);
  });

  it('exports the metrics of the README table, and the README documents every one it exports', async () => {
    const readme = await readFile(path.join(REPO, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('\n## Metrics'), readme.indexOf('\n## Alerts'));
    const documented = new Set([...section.matchAll(/^\| `(portcullis_[a-z0-9_]+)`/gm)].map((m) => m[1]));
    const exported = [...families.keys()].filter((name) => name.startsWith('portcullis_'));
    expect(exported.length).toBeGreaterThanOrEqual(18);
    expect(exported.filter((name) => !documented.has(name))).toEqual([]);
    expect([...documented].filter((name) => !families.has(name as string))).toEqual([]);
  });
});
