// Request bodies are bounded everywhere, including /login, which accepts a body before anyone signs in.
import { afterEach, beforeEach, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../src/web/app.js';
import { BASE, type Harness, harness, TOKEN } from './helpers.js';

let h: Harness;
beforeEach(() => {
  h = harness();
});
afterEach(() => {
  h.close();
});

it('refuses a body over the limit with 413 on /login and the API, and accepts one under it', async () => {
  const huge = 'x'.repeat(MAX_BODY_BYTES + 1);
  const login = await h.request('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: BASE },
    body: `code=${huge}`,
  });
  expect(login.status).toBe(413);
  const api = await h.request('/api/check', {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tool: 'x', args: { pad: huge } }),
  });
  expect(api.status).toBe(413);
  const small = await h.request('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: BASE },
    body: 'code=nope',
  });
  expect(small.status).not.toBe(413);
});
