// What the recording fixture upstream (fixture.ts, FIXTURE_LOG) received, and result text for assertions.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

export interface FixtureEntry {
  pid: number;
  method?: string;
  event?: string;
  name?: string;
  uri?: string;
  args?: Record<string, unknown>;
}

/** Everything one fixture log recorded so far (nothing yet when the file does not exist). */
export async function fixtureLog(file: string): Promise<FixtureEntry[]> {
  if (!existsSync(file)) return [];
  return (await readFile(file, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as FixtureEntry);
}

/** How many `tools/call` of this tool the fixture received. */
export async function callsOf(file: string, name: string): Promise<number> {
  return (await fixtureLog(file)).filter((e) => e.method === 'tools/call' && e.name === name).length;
}

/** The text of a tool result, for assertions and failure messages. */
export function resultText(result: unknown): string {
  const content = (result as { content?: { text?: string }[] }).content ?? [];
  return content.map((c) => c.text ?? '').join('\n');
}
