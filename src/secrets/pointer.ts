// JSON Pointers (RFC 6901): how a masked value is named, to the reviewer who reveals it and in the audit log.

/** The pointer of a path: `/headers/0/value`; `~` and `/` inside keys escaped as `~0` and `~1`. */
export function pointer(path: readonly (string | number)[]): string {
  let out = '';
  for (const part of path) out += `/${String(part).replace(/~/g, '~0').replace(/\//g, '~1')}`;
  return out;
}

/** What `pointer` names inside `document` (own members only), or `{ found: false }`. */
export function resolvePointer(
  document: unknown,
  at: string,
): { found: true; value: unknown } | { found: false } {
  if (at === '') return { found: true, value: document };
  if (!at.startsWith('/')) return { found: false };
  let node = document;
  for (const raw of at.slice(1).split('/')) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      if (!/^(?:0|[1-9]\d*)$/.test(part) || Number(part) >= node.length) return { found: false };
      node = node[Number(part)];
    } else if (typeof node === 'object' && node !== null && Object.hasOwn(node, part)) {
      node = (node as Record<string, unknown>)[part];
    } else {
      return { found: false };
    }
  }
  return { found: true, value: node };
}
