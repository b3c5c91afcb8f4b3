// How the views show a time: a <time> in UTC (the browser shows it in local time) and an approval's countdown.
import { html } from 'hono/html';
import type { Html } from './layout.js';

/** `2026-12-02 15:41:00 UTC` (or to the minute), or a muted dash for a time that has not come. */
export function utcTime(ms: number | null, precision: 'second' | 'minute' = 'second'): Html {
  if (ms === null) return html`<span class="muted">—</span>`;
  const iso = new Date(ms).toISOString();
  return html`<time datetime="${iso}">${iso.replace('T', ' ').slice(0, precision === 'second' ? 19 : 16)} UTC</time>`;
}

/** `4:58 left`: what an approval's countdown shows before the page's script takes it over. */
export function timeLeft(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')} left`;
}
