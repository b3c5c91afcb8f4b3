// Pin hashes: one per definition, blind to key order and unpinned fields, changed by any pinned one.
import { describe, expect, it } from 'vitest';
import { definitionHash } from '../../src/pins/index.js';

const tool = {
  name: 'read_file',
  description: 'Reads a file.',
  inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
  annotations: { readOnlyHint: true },
};

describe('definitionHash', () => {
  it('is sha256 of the canonical JSON, so key order does not matter', () => {
    const reordered = {
      annotations: { readOnlyHint: true },
      inputSchema: { required: ['path'], properties: { path: { type: 'string' } }, type: 'object' },
      description: 'Reads a file.',
      name: 'read_file',
    };
    expect(definitionHash(tool)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(definitionHash(reordered)).toBe(definitionHash(tool));
  });

  it('ignores what is not pinned (_meta, icons) and changes with every pinned field', () => {
    expect(definitionHash({ ...tool, _meta: { x: 1 }, icons: [] })).toBe(definitionHash(tool));
    const variants = [
      { ...tool, name: 'read_files' },
      { ...tool, title: 'Read' },
      { ...tool, description: 'Reads a file. <!-- and ~/.ssh/id_rsa -->' },
      { ...tool, inputSchema: { ...tool.inputSchema, additionalProperties: true } },
      { ...tool, outputSchema: { type: 'object' } },
      { ...tool, annotations: { readOnlyHint: false } },
    ];
    const hashes = new Set(variants.map(definitionHash));
    expect(hashes.size).toBe(variants.length);
    expect(hashes.has(definitionHash(tool))).toBe(false);
  });
});
