// Pins written in the policy and quarantine of hidden content, as the pure judgement and the policy loader see them.
import { describe, expect, it } from 'vitest';
import { acceptHeld, definitionHash, judgeListing, type PinFile } from '../../src/pins/index.js';
import { loadPolicy } from '../../src/policy/index.js';
import { errorsOf, policyFrom } from '../policy/helpers.js';

const NOW = new Date('2026-12-02T09:00:00Z');
const read = { name: 'read_file', description: 'Reads a file.', inputSchema: { type: 'object' } };
const changed = { ...read, description: 'Reads a file, and more.' };
const READ = definitionHash(read);
const CHANGED = definitionHash(changed);
const pinned = (sha256: string): PinFile => ({
  version: 1,
  server: 'files',
  tools: { read_file: { sha256, definition: read, pinnedAt: NOW.toISOString() } },
  held: {},
});
const policyPins = (sha256: string) => new Map([['read_file', [{ sha256, source: 'rule r' }]]]);

describe('pins in the policy', () => {
  it('trust the definition they name over the pin file, and make it the file pin', () => {
    const judged = judgeListing('files', { kind: 'pinned', file: pinned(READ) }, [changed], {
      newTools: 'allow',
      now: NOW,
      policyPins: policyPins(CHANGED),
    });
    expect(judged.tools.get('read_file')).toEqual({ status: 'policy', sha256: CHANGED, source: 'rule r' });
    expect(judged.write?.tools.read_file?.sha256).toBe(CHANGED);
  });

  it('hold any other definition, even on first use and with trust on first use off, and keep it out of the file', () => {
    for (const tofu of [true, false]) {
      const judged = judgeListing('files', { kind: 'none' }, [changed], {
        newTools: 'allow',
        now: NOW,
        tofu,
        policyPins: policyPins(READ),
      });
      expect(judged.tools.get('read_file')).toEqual({
        status: 'mismatch',
        sha256: CHANGED,
        expected: [{ sha256: READ, source: 'rule r' }],
      });
      expect(judged.write?.held.read_file).toBeUndefined();
    }
  });

  it('hold a definition that two pins disagree on', () => {
    const both = new Map([
      [
        'read_file',
        [
          { sha256: READ, source: 'rule r' },
          { sha256: CHANGED, source: 'servers.files.pin' },
        ],
      ],
    ]);
    const judged = judgeListing('files', { kind: 'none' }, [read], {
      newTools: 'allow',
      now: NOW,
      policyPins: both,
    });
    expect(judged.tools.get('read_file')?.status).toBe('mismatch');
  });

  it('are compiled per server from rules and servers entries, by lower-cased tool name', () => {
    const hash = (n: number) => `sha256:${String(n).repeat(64)}`;
    const policy = policyFrom(`version: 2
servers:
  files: { command: node, args: [x.js], pin: { Read_File: "${hash(1)}" } }
  other: { command: node, args: [y.js] }
rules:
  - { id: r, match: write_file, server: files, decision: allow, pin: "${hash(2)}" }
  - { id: s, match: everywhere, decision: review, pin: "${hash(3)}" }
  - { match: "*", decision: allow }
`);
    const files = policy.pins.policyPins('files');
    expect([...files.keys()].sort()).toEqual(['everywhere', 'read_file', 'write_file']);
    expect(files.get('read_file')).toEqual([{ sha256: hash(1), source: 'servers.files.pin' }]);
    expect(files.get('write_file')).toEqual([{ sha256: hash(2), source: 'rule r' }]);
    expect([...policy.pins.policyPins('other').keys()]).toEqual(['everywhere']);
    expect(policy.pins.hiddenContent).toBe('warn');
  });

  it('are refused where they cannot name one definition', () => {
    const hash = `sha256:${'a'.repeat(64)}`;
    const rule = (r: string) => errorsOf(`version: 2\nrules:\n  - ${r}\n`).join('\n');
    expect(rule(`{ match: "read_*", decision: allow, pin: "${hash}" }`)).toContain(
      "rules[0].pin: a pin is one tool's definition, so match must be one exact tool name (no glob)",
    );
    expect(rule(`{ match: [a, b], decision: allow, pin: "${hash}" }`)).toContain('one exact tool name');
    expect(rule(`{ kind: prompt, match: greet, decision: allow, pin: "${hash}" }`)).toContain(
      'rules[0].pin: only a kind: tool rule can pin a definition',
    );
    expect(rule(`{ match: a, decision: allow, pin: "sha256:ABC" }`)).toMatch(/pin/);
    expect(
      errorsOf(`version: 2
servers:
  files: { command: node, pin: { read_file: "${hash}", READ_FILE: "sha256:${'b'.repeat(64)}" } }
rules: []
`).join('\n'),
    ).toContain('servers.files.pin: READ_FILE is pinned twice with different hashes');
    const deny = loadPolicy(
      `version: 2\nrules:\n  - { match: a, decision: deny, pin: "${hash}" }\n`,
      't.yml',
    );
    expect(deny.ok && deny.warnings.map((w) => w.message)).toContainEqual(
      expect.stringContaining("a deny rule's tool never runs"),
    );
  });
});

describe('hidden content with pins.hidden_content: quarantine', () => {
  const flagged = new Map([['read_file', ['comment at /description: <!-- x -->']]]);

  it('holds a flagged definition even on first use, pinning the clean tools beside it', () => {
    const clean = { name: 'list', inputSchema: { type: 'object' } };
    const judged = judgeListing('files', { kind: 'none' }, [read, clean], {
      newTools: 'allow',
      now: NOW,
      flagged,
      hiddenContent: 'quarantine',
    });
    expect(judged.tools.get('read_file')?.status).toBe('flagged');
    expect(judged.tools.get('list')?.status).toBe('pinned');
    expect(judged.write?.held.read_file?.findings).toEqual(['comment at /description: <!-- x -->']);
    expect(judged.write?.tools.read_file).toBeUndefined();
  });

  it('holds one trusted on first use, runs it once a person accepted it, and only warns in warn mode', () => {
    const state = { kind: 'pinned' as const, file: pinned(READ) };
    const options = { newTools: 'allow' as const, now: NOW, flagged };
    expect(
      judgeListing('files', state, [read], { ...options, hiddenContent: 'quarantine' }).tools.get('read_file')
        ?.status,
    ).toBe('flagged');
    expect(
      judgeListing('files', state, [read], { ...options, hiddenContent: 'warn' }).tools.get('read_file')
        ?.status,
    ).toBe('trusted');
    const held = judgeListing('files', state, [read], { ...options, hiddenContent: 'quarantine' })
      .write as PinFile;
    const accepted = acceptHeld(held, 'read_file', NOW);
    expect(accepted.tools.read_file?.acceptedAt).toBe(NOW.toISOString());
    expect(
      judgeListing('files', { kind: 'pinned', file: accepted }, [read], {
        ...options,
        hiddenContent: 'quarantine',
      }).tools.get('read_file')?.status,
    ).toBe('trusted');
  });
});
