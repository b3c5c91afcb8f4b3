// The house rules of src/ as a test: folders meet only through their index.ts, no import cycles, policy/ stays pure.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every module specifier a file imports or re-exports, type-only ones included (a type cycle is a cycle). */
function specifiers(text: string): string[] {
  const found: string[] = [];
  const pattern =
    /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*'([^']+)'|import\(\s*'([^']+)'\s*\)|^import\s*'([^']+)'/gm;
  for (const match of text.matchAll(pattern)) found.push((match[1] ?? match[2] ?? match[3]) as string);
  return found;
}

interface Edge {
  from: string;
  to: string;
  specifier: string;
}

function localEdges(): Edge[] {
  return sourceFiles(SRC).flatMap((file) =>
    specifiers(readFileSync(file, 'utf8'))
      .filter((s) => s.startsWith('.'))
      .map((specifier) => ({
        from: relative(SRC, file),
        to: relative(SRC, resolve(dirname(file), specifier.replace(/\.js$/, '.ts'))),
        specifier,
      })),
  );
}

/** The top-level folder of a path under src/ (`proxy` for proxy/gate.ts), or null for src/app.ts and src/cli.ts. */
function folderOf(path: string): string | null {
  const parts = path.split(sep);
  return parts.length > 1 ? (parts[0] as string) : null;
}

describe('imports in src/', () => {
  const edges = localEdges();

  it('finds the imports it checks (the parser still works)', () => {
    expect(edges.some((e) => e.from === 'app.ts' && e.to === join('proxy', 'index.ts'))).toBe(true);
    expect(edges.length).toBeGreaterThan(200);
  });

  it('cross from one folder into another only through that folder’s index.ts', () => {
    const bypassing = edges
      .filter((e) => {
        const target = folderOf(e.to);
        return target !== null && target !== folderOf(e.from) && e.to !== join(target, 'index.ts');
      })
      .map((e) => `${e.from} imports ${e.specifier}`);
    expect(bypassing).toEqual([]);
  });

  it('form no cycles, between files or between folders', () => {
    const graph = new Map<string, Set<string>>();
    for (const e of edges) {
      if (!graph.has(e.from)) graph.set(e.from, new Set());
      graph.get(e.from)?.add(e.to);
    }
    expect(cycles(graph)).toEqual([]);

    const folders = new Map<string, Set<string>>();
    for (const e of edges) {
      const from = folderOf(e.from) ?? e.from;
      const to = folderOf(e.to) ?? e.to;
      if (from === to) continue;
      if (!folders.has(from)) folders.set(from, new Set());
      folders.get(from)?.add(to);
    }
    expect(cycles(folders)).toEqual([]);
  });

  it('keep src/policy pure: no I/O, no process, no other folder but secrets-free value helpers', () => {
    const impure = sourceFiles(join(SRC, 'policy')).flatMap((file) =>
      specifiers(readFileSync(file, 'utf8'))
        .filter(
          (s) => /^node:(fs|child_process|net|http|https|os|worker_threads)/.test(s) || s.startsWith('../'),
        )
        .filter((s) => !s.startsWith('../util/'))
        .map((s) => `${relative(SRC, file)} imports ${s}`),
    );
    expect(impure).toEqual([]);
  });
});

/** Strongly connected components with more than one member, or a self-import (Tarjan). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    indexOf.set(node, index);
    low.set(node, index);
    index++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indexOf.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) as number, low.get(next) as number));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) as number, indexOf.get(next) as number));
      }
    }
    if (low.get(node) === indexOf.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop() as string;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || graph.get(node)?.has(node)) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!indexOf.has(node)) visit(node);
  return found;
}
