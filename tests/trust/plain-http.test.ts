// Plain http:// to another machine is refused unless the upstream says insecure: true, by validate, by start and by reload.

import { writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startApp } from '../../src/app.js';
import { formatProblem, loadPolicy } from '../../src/policy/index.js';
import { PolicyLoadError } from '../../src/proxy/index.js';
import { cli } from '../helpers/cli.js';
import { startHttpProxy } from '../helpers/proxy.js';
import { tempDir } from '../helpers/temp.js';

const policyWith = (server: string): string =>
  `version: 2\nservers:\n  remote: ${server}\nrules:\n  - { id: all, match: "*", decision: allow }\n`;

function problems(server: string): { errors: string[]; warnings: string[] } {
  const result = loadPolicy(policyWith(server), 'p.yml');
  return {
    errors: result.ok ? [] : result.errors.map(formatProblem),
    warnings: result.warnings.map(formatProblem),
  };
}

describe('plain http:// to a remote upstream', () => {
  it('is a load error naming the host, at the url', () => {
    expect(problems('{ url: "http://mcp.example.com/mcp" }').errors).toEqual([
      expect.stringMatching(
        /^p\.yml:3:18: servers\.remote\.url: plain http:\/\/ to mcp\.example\.com, which is not this machine.*insecure: true/,
      ),
    ]);
  });

  it('catches hosts that only look local, or hide behind user info, encodings and DNS names', () => {
    for (const url of [
      'http://localhost@evil.example/mcp', // user info: the host is evil.example
      'http://127.0.0.1.nip.io/mcp', // a DNS name that resolves to loopback today, anything tomorrow
      'http://localhost.evil.example/mcp',
      'http://0.0.0.0:8080/mcp',
      'http://10.0.0.5/mcp',
      'http://[fe80::1]/mcp',
      'http://[::ffff:10.0.0.1]/mcp',
      'http://192.168.1.1:3000/mcp',
      'http://xn--80ak6aa92e.com/mcp',
    ]) {
      expect(problems(`{ url: "${url}" }`).errors, url).toEqual([expect.stringContaining('plain http://')]);
    }
  });

  it('allows loopback in all its spellings, and https anywhere', () => {
    for (const url of [
      'http://localhost:3000/mcp',
      'http://LOCALHOST/mcp',
      'http://127.0.0.1:9/mcp',
      'http://127.1/mcp',
      'http://127.255.0.9/mcp',
      'http://0x7f000001/mcp',
      'http://2130706433/mcp',
      'http://[::1]:8080/mcp',
      'http://[0:0:0:0:0:0:0:1]/mcp',
      'http://[::ffff:127.0.0.1]/mcp',
      'https://mcp.example.com/mcp',
    ]) {
      expect(problems(`{ url: "${url}" }`), url).toEqual({ errors: [], warnings: [] });
    }
  });

  it('with insecure: true loads with a warning; insecure on https and ca_file on http warn that they do nothing', () => {
    expect(problems('{ url: "http://mcp.example.com/mcp", insecure: true }')).toEqual({
      errors: [],
      warnings: [expect.stringMatching(/servers\.remote: insecure: plain http:\/\/ to mcp\.example\.com/)],
    });
    expect(problems('{ url: "https://mcp.example.com/mcp", insecure: true }').warnings).toEqual([
      expect.stringContaining('insecure has no effect on https://'),
    ]);
    expect(problems('{ url: "http://127.0.0.1/mcp", ca_file: ca.pem }').warnings).toEqual([
      expect.stringContaining('ca_file has no effect on http://'),
    ]);
    expect(problems('{ url: "http://mcp.example.com/mcp", insecure: "yes" }').errors).toEqual([
      expect.stringContaining('servers.remote.insecure: must be boolean'),
    ]);
    expect(problems('{ command: x, insecure: true }').errors).toEqual([
      expect.stringContaining('servers.remote: insecure and ca_file go with url'),
    ]);
  });

  it('policy validate fails with exit 1 and the message; with insecure: true it passes and prints the warning', async () => {
    const { dir } = tempDir('portcullis-trust-');
    const file = path.join(dir, 'p.yml');
    writeFileSync(file, policyWith('{ url: "http://mcp.example.com/mcp" }'));
    const refused = await cli('policy', 'validate', file);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('servers.remote.url: plain http:// to mcp.example.com');
    writeFileSync(file, policyWith('{ url: "http://mcp.example.com/mcp", insecure: true }'));
    const warned = await cli('policy', 'validate', file);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toContain('warning: servers.remote: insecure: plain http:// to mcp.example.com');
  });

  it('startApp refuses the policy', async () => {
    const { dir } = tempDir('portcullis-trust-');
    const policyFile = path.join(dir, 'p.yml');
    writeFileSync(policyFile, policyWith('{ url: "http://mcp.example.com/mcp" }'));
    const start = startApp({
      policyFile,
      http: { host: '127.0.0.1', port: 0 },
      ui: 'off',
      dataDir: path.join(dir, 'data'),
      agent: 'anonymous',
      log: () => {},
    });
    await expect(start).rejects.toBeInstanceOf(PolicyLoadError);
    await expect(start).rejects.toMatchObject({
      problems: [expect.stringContaining('plain http:// to mcp.example.com')],
    });
  });

  it('with insecure: true starts, logs the warning and shows it on the Policy page; a reload to a remote http url is refused', async () => {
    // Port 9 on loopback-less 192.0.2.1 (TEST-NET-1): nothing answers; the proxy only has to start.
    const proxy = await startHttpProxy({
      policy: policyWith('{ url: "http://192.0.2.1:9/mcp", insecure: true }'),
      ui: 0,
      env: { ...process.env, PORTCULLIS_UI_TOKEN: 'trust-admin-token-0123456789abcdef-0123' },
    });
    try {
      expect(proxy.logs.join('\n')).toContain(
        'warning: servers.remote: insecure: plain http:// to 192.0.2.1',
      );
      const status = await policyStatus(proxy.app.web?.url as string);
      expect(status.warnings).toEqual(
        expect.arrayContaining([expect.stringContaining('insecure: plain http:// to 192.0.2.1')]),
      );
      const before = proxy.app.policy.current.sha256;
      await writeFile(proxy.policyFile, policyWith('{ url: "http://192.0.2.1:9/mcp" }'));
      await proxy.app.policy.reload();
      expect(proxy.app.policy.current.sha256).toBe(before);
      const after = await policyStatus(proxy.app.web?.url as string);
      expect(after.errors).toEqual([expect.stringContaining('plain http:// to 192.0.2.1')]);
    } finally {
      await proxy.close();
    }
  });

  it('a host given as an environment variable is judged once expanded: that upstream does not start', async () => {
    const proxy = await startHttpProxy({
      policy: `version: 2\nservers:\n  remote: { url: "http://\${REMOTE_HOST}/mcp" }\n  local: { command: node, args: ["-e", "setInterval(() => {}, 1000)"] }\nrules:\n  - { id: all, match: "*", decision: allow }\n`,
      env: { ...process.env, REMOTE_HOST: 'mcp.example.com' },
    });
    try {
      expect(proxy.logs).toContainEqual(
        expect.stringMatching(
          /upstream not started: servers\.remote\.url: plain http:\/\/ to mcp\.example\.com/,
        ),
      );
    } finally {
      await proxy.close();
    }
  });
});

async function policyStatus(web: string): Promise<{ warnings?: string[]; errors: string[] }> {
  const response = await fetch(`${web}/api/policy`, {
    headers: { authorization: 'Bearer trust-admin-token-0123456789abcdef-0123' },
  });
  return (await response.json()) as { warnings?: string[]; errors: string[] };
}
