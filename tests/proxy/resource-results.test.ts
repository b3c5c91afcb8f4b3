// Through the real proxy: credentials in what a resources/read returns (text and text-like blobs) are masked, blocked or passed by policy, and audited without their value.
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_DENIED, RESULT_META_KEY, screenResult } from '../../src/proxy/index.js';
import { fixtureLog } from '../helpers/fixture-log.js';
import { type FixtureProxy, httpClient, startFixtureProxy } from '../helpers/proxy.js';

/** Built at run time, so no credential-shaped literal sits in the repository. */
const awsId = `AKIA${'Z7Q2X9W3E4R5T6Y8'}`;
const pem = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
  type: 'pkcs8',
  format: 'pem',
}) as string;
const pemBody = pem.split('\n')[5] as string;
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
/** PNG magic and bytes that are not UTF-8: binary, never decoded. */
const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0xfe, 0x00, 0x01]).toString(
  'base64',
);

const CONTENTS = {
  'file:///srv/app/.env': [{ mimeType: 'text/plain', text: `AWS_ACCESS_KEY_ID=${awsId}\nREGION=eu-west-1` }],
  'file:///srv/app/key.pem': [{ mimeType: 'application/octet-stream', blob: b64(pem) }],
  'file:///srv/app/logo.png': [{ mimeType: 'image/png', blob: png }],
  'file:///srv/app/readme': [{ text: 'nothing secret in here, just a long and ordinary sentence' }],
  'file:///srv/raw/.env': [{ text: `id ${awsId}` }],
  'file:///srv/locked/key.pem': [{ blob: b64(pem) }],
};

const POLICY = `version: 2
default: deny
rules:
  - { id: raw, kind: resource, match: "file:///srv/raw/**", decision: allow, results: { secrets: allow } }
  - { id: locked, kind: resource, match: "file:///srv/locked/**", decision: allow, results: { secrets: block } }
  - { id: tools, match: "*", decision: deny }
`;

let proxy: FixtureProxy;
let client: Client;

beforeAll(async () => {
  proxy = await startFixtureProxy({
    policy: POLICY,
    upstream: 'in-process',
    env: {
      FIXTURE_RESOURCES: Object.keys(CONTENTS).join(','),
      FIXTURE_RESOURCE_CONTENTS: JSON.stringify(CONTENTS),
    },
  });
  client = await httpClient(proxy.url);
});

afterAll(async () => {
  await client?.close();
  await proxy?.close();
});

async function executions(uri: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(path.join(proxy.dataDir, 'audit', 'audit-000001.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((r) => r.resource === uri && r.event === 'execution');
}

async function auditText(): Promise<string> {
  return readFile(path.join(proxy.dataDir, 'audit', 'audit-000001.jsonl'), 'utf8');
}

async function upstreamRead(uri: string): Promise<number> {
  return (await fixtureLog(proxy.fixtureLog)).filter((e) => e.method === 'resources/read' && e.uri === uri)
    .length;
}

describe('resources/read results: results.secrets (default redact)', () => {
  it('masks an AWS key in text: the client gets the mask, the upstream sent the key, the audit names where', async () => {
    const uri = 'file:///srv/app/.env';
    const result = await client.readResource({ uri });
    const text = (result.contents[0] as { text: string }).text;
    expect(text).not.toContain(awsId);
    expect(text).toContain('[redacted by Portcullis: ');
    expect(text).toContain('REGION=eu-west-1');
    expect(result._meta?.[RESULT_META_KEY]).toMatchObject({ redacted: [{ pointer: '/contents/0/text' }] });
    expect(await upstreamRead(uri)).toBe(1);
    const [exec] = await executions(uri);
    expect(exec).toMatchObject({ outcome: 'ok', result_action: 'redacted' });
    expect(exec?.result_findings).toEqual([expect.objectContaining({ pointer: '/contents/0/text' })]);
    expect(await auditText()).not.toContain(awsId);
  });

  it('masks a private key in a base64 blob whose bytes are text, and keeps it a blob', async () => {
    const uri = 'file:///srv/app/key.pem';
    const result = await client.readResource({ uri });
    const item = result.contents[0] as { blob?: string; text?: string; mimeType?: string };
    expect(item.text).toBeUndefined();
    expect(item.mimeType).toBe('application/octet-stream');
    const decoded = Buffer.from(item.blob as string, 'base64').toString('utf8');
    expect(decoded).not.toContain(pemBody);
    expect(decoded).toContain('[redacted by Portcullis:');
    expect((await executions(uri))[0]).toMatchObject({
      result_action: 'redacted',
      result_findings: [expect.objectContaining({ pointer: '/contents/0/blob' })],
    });
    expect(await auditText()).not.toContain(pemBody);
  });

  it('leaves binary blobs and clean text exactly as the upstream sent them', async () => {
    const logo = await client.readResource({ uri: 'file:///srv/app/logo.png' });
    expect(logo.contents[0]).toMatchObject({ blob: png });
    expect(logo._meta?.[RESULT_META_KEY]).toBeUndefined();
    const readme = await client.readResource({ uri: 'file:///srv/app/readme' });
    expect(readme.contents[0]).toMatchObject({ text: CONTENTS['file:///srv/app/readme'][0]?.text });
    expect((await executions('file:///srv/app/readme'))[0]?.result_action).toBeUndefined();
  });

  it('passes a credential under a rule with results.secrets: allow, but still audits where it was', async () => {
    const uri = 'file:///srv/raw/.env';
    const result = await client.readResource({ uri });
    expect((result.contents[0] as { text: string }).text).toBe(`id ${awsId}`);
    expect((await executions(uri))[0]).toMatchObject({ result_action: 'passed' });
  });

  it('refuses the whole read with -32003 under results.secrets: block (the upstream did send it)', async () => {
    const uri = 'file:///srv/locked/key.pem';
    const error = await client.readResource({ uri }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(ACCESS_DENIED);
    expect((error as McpError).message).toContain('Result blocked by Portcullis, rule "locked"');
    expect((error as McpError).message).toContain('/contents/0/blob');
    expect((error as McpError).message).not.toContain(pemBody);
    expect(await upstreamRead(uri)).toBe(1);
    expect((await executions(uri))[0]).toMatchObject({ outcome: 'ok', result_action: 'blocked' });
  });
});

describe('screenResult on blobs', () => {
  it('masks a text blob embedded in a tool result and leaves clean or binary blobs byte for byte', () => {
    const bom = `\uFEFFplain text, long enough to be scanned at all`;
    const result = {
      content: [
        { type: 'resource', resource: { uri: 'file:///k', blob: b64(`id=${awsId}`) } },
        { type: 'resource', resource: { uri: 'file:///b', blob: b64(bom) } },
        // Valid UTF-8 with a NUL byte: binary, so it is not decoded (and not changed).
        { type: 'resource', resource: { uri: 'file:///n', blob: b64(`\u0000${awsId}`) } },
      ],
    };
    const screened = screenResult(result, 'redact');
    expect(screened.action).toBe('redacted');
    expect(screened.findings.map((f) => f.pointer)).toEqual(['/content/0/resource/blob']);
    const content = (screened.result as typeof result).content;
    expect(Buffer.from(content[0]?.resource.blob as string, 'base64').toString('utf8')).not.toContain(awsId);
    expect(content[1]?.resource.blob).toBe(b64(bom));
    expect(content[2]?.resource.blob).toBe(b64(`\u0000${awsId}`));
    expect(result.content[0]?.resource.blob).toBe(b64(`id=${awsId}`));
  });
});
