// Readable arguments: text as text, edits as a diff, cents as money, folding, escaping, and masks that stay masks.
import { describe, expect, it } from 'vitest';
import { Redactor } from '../../src/audit/index.js';
import { canonicalJson } from '../../src/util/index.js';
import { approvalMasker } from '../../src/web/display.js';
import { centsText, readableArgs } from '../../src/web/views/args.js';

async function render(args: unknown, compact = false): Promise<string> {
  return String(await readableArgs(canonicalJson(args), { compact }));
}

/** What a reader sees of the readable part, without the raw JSON block. */
function readable(out: string): string {
  return out.slice(0, out.indexOf('<details class="arg-json">'));
}

describe('readableArgs', () => {
  it('shows a string with newlines as preformatted text, not as escaped \\n', async () => {
    const out = readable(await render({ body: 'Hello Ada,\nyour refund is on its way.\n— Support' }));
    expect(out).toContain('<pre class="arg-text">Hello Ada,\nyour refund is on its way.\n— Support</pre>');
    expect(out).not.toContain('\\n');
  });

  it('shows edit_file edits as a line diff with removed and added lines marked', async () => {
    const out = await render({
      path: '/srv/app/config.yml',
      edits: [{ oldText: 'port: 80\nhost: a\n', newText: 'port: 8080\nhost: a\n' }],
      dryRun: false,
    });
    expect(out).toMatch(
      /<span class="diff-line del"><span class="diff-mark" aria-label="removed">−<\/span>port: 80<\/span>/,
    );
    expect(out).toMatch(
      /<span class="diff-line add"><span class="diff-mark" aria-label="added">\+<\/span>port: 8080<\/span>/,
    );
    expect(out).toMatch(/<span class="diff-line ctx">.*host: a<\/span>/);
    // The other arguments stay readable beside the diff; the edits are not shown twice in the tree.
    expect(readable(out)).toContain('/srv/app/config.yml');
    expect(readable(out)).toContain('dryRun');
    expect(readable(out)).not.toContain('oldText');
  });

  it('diffs old_str/new_str and top-level oldText/newText too, numbering several edits', async () => {
    expect(await render({ path: 'a.py', old_str: 'x = 1', new_str: 'x = 2' })).toContain('diff-line add');
    const two = await render({
      edits: [
        { oldText: 'a', newText: 'b' },
        { oldText: 'c', newText: 'd' },
      ],
    });
    expect(two).toContain('Edit 1 of 2');
    expect(two).toContain('Edit 2 of 2');
    // Not an edit: a list whose items carry more than the pair is shown as a tree.
    expect(await render({ edits: [{ oldText: 'a', newText: 'b', extra: 1 }] })).not.toContain('diff-line');
  });

  it('shows cents as money with a sibling currency, and as a bare amount without one', async () => {
    expect(centsText(123456, 'usd')).toBe('$1,234.56 (123,456 cents)');
    expect(centsText(123456, 'EUR')).toBe('€1,234.56 (123,456 cents)');
    expect(centsText(123456, undefined)).toBe('1,234.56 (123,456 cents)');
    expect(centsText(5, 'not-a-code')).toBe('0.05 (5 cents)');
    const out = readable(await render({ amount_cents: 20000, currency: 'usd', quantity: 3 }));
    expect(out).toContain('$200.00 (20,000 cents)');
    expect(out).toContain('<span class="arg-number">3</span>');
    expect(readable(await render({ amount_cents: 20000 }))).toContain('200.00 (20,000 cents)');
  });

  it('escapes everything, in the tree, the diff and the raw JSON', async () => {
    const out = await render({
      '<b>key</b>': '<script>alert(1)</script>',
      note: 'a\n<img src=x onerror=alert(1)>',
      edits: [{ oldText: '<script>', newText: '</pre><script>alert(2)</script>' }],
    });
    expect(out).not.toMatch(/<script>|<img|<b>key/);
    expect(out).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(out).toContain('&lt;b&gt;key&lt;/b&gt;');
  });

  it('folds long values into <details>, sooner on the compact cards, and nests objects with their keys', async () => {
    const long = Array.from({ length: 40 }, (_, i) => `line ${i}`).join('\n');
    const full = readable(await render({ body: long, short: 'one\ntwo' }));
    expect(full).toMatch(
      /<details class="arg-fold"><summary><span class="arg-str">line 0<\/span>… <span class="muted">40 lines/,
    );
    expect(full).toContain('<pre class="arg-text">one\ntwo</pre>');
    const compact = readable(await render({ body: 'a\nb\nc\nd\ne\nf\ng' }, true));
    expect(compact).toContain('arg-fold');
    const nested = readable(await render({ customer: { address: { city: 'Oslo' } } }));
    expect(nested).toMatch(
      /<dt>customer<\/dt><dd><dl class="arg-tree"><div class="arg-row"><dt>address<\/dt><dd><dl class="arg-tree">/,
    );
  });

  it('always has the exact canonical arguments in a raw JSON block', async () => {
    const args = { b: 1, a: [true, null, 'x'] };
    const out = await render(args);
    expect(out).toContain('<details class="arg-json"><summary>Raw JSON');
    expect(out).toContain(JSON.stringify(JSON.parse(canonicalJson(args)), null, 2).replace(/"/g, '&quot;'));
  });

  it('renders a masked secret as its mask: the secret is nowhere in the page', async () => {
    const secret = 'hunter2-do-not-show';
    const mask = approvalMasker((args) => new Redactor(Buffer.alloc(32, 7)).review(args));
    const masked = mask({ argsCanonical: canonicalJson({ password: secret, user: 'ada' }) } as never);
    const out = String(await readableArgs(masked.argsCanonical));
    expect(out).not.toContain(secret);
    expect(out).toMatch(/\[redacted\] hmac-sha256:[0-9a-f]{64}/);
    expect(out).toContain('ada');
  });
});
