// The policy's `notifications:` block: what loads, what is refused, what is warned about, and the defaults.
import { describe, expect, it } from 'vitest';
import { formatProblem, loadPolicy } from '../../src/policy/index.js';

function load(notifications: string) {
  return loadPolicy(`version: 2\nnotifications:\n${notifications}\nrules: []\n`, 'test.yml');
}
const errors = (n: string) => {
  const r = load(n);
  return r.ok ? [] : r.errors.map(formatProblem);
};
const warnings = (n: string) => {
  const r = load(n);
  return r.ok ? r.warnings.map(formatProblem) : [];
};

describe('notifications in the policy', () => {
  it('compiles webhooks with their defaults (slack, 5 s) and leaves variables for the notifier', () => {
    const r = load(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal placeholder is what is expanded
      '  ui_url: https://portcullis.example.com\n  webhooks:\n    - { id: ops, url: "https://hooks.example.com/${HOOK}", events: [approval_pending], secret: "${S}" }\n',
    );
    if (!r.ok) throw new Error(r.errors.map(formatProblem).join('\n'));
    expect(r.policy.notifications).toEqual({
      uiUrl: 'https://portcullis.example.com',
      webhooks: [
        {
          id: 'ops',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal placeholder is what is expanded
          url: 'https://hooks.example.com/${HOOK}',
          events: ['approval_pending'],
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal placeholder is what is expanded
          secret: '${S}',
          format: 'slack',
          timeoutMs: 5000,
        },
      ],
    });
    expect(loadPolicy('version: 2\nrules: []\n', 't.yml')).toMatchObject({
      ok: true,
      policy: { notifications: { webhooks: [] } },
    });
  });

  it('refuses plain http:// to another host, but not to this machine', () => {
    expect(
      errors(
        '  webhooks:\n    - { id: a, url: "http://hooks.example.com/x", events: [incident_opened], secret: s }',
      ),
    ).toEqual([
      'test.yml:4:21: notifications.webhooks[0].url: plain http:// to hooks.example.com, which is not this machine, would send notifications unencrypted: use https://',
    ]);
    // The userinfo trick: the host is evil.example.
    expect(
      errors(
        '  webhooks:\n    - { id: a, url: "http://localhost@evil.example/", events: [incident_opened], secret: s }',
      ),
    ).toHaveLength(1);
    expect(
      errors(
        '  webhooks:\n    - { id: a, url: "http://127.0.0.1:9000/x", events: [incident_opened], secret: s }',
      ),
    ).toEqual([]);
  });

  it('refuses unknown events, an empty list, duplicate ids, unknown keys and other schemes', () => {
    expect(
      errors('  webhooks:\n    - { id: a, url: "https://x.example", events: [approval_decided], secret: s }'),
    ).not.toEqual([]);
    expect(
      errors('  webhooks:\n    - { id: a, url: "https://x.example", events: [], secret: s }'),
    ).not.toEqual([]);
    expect(
      errors(
        '  webhooks:\n    - { id: a, url: "https://x.example", events: [agent_suspended], secret: s }\n    - { id: a, url: "https://y.example", events: [agent_suspended], secret: s }',
      ),
    ).toEqual(['test.yml:5:13: notifications.webhooks[1].id: another webhook has the id "a"']);
    expect(
      errors(
        '  webhooks:\n    - { id: a, url: "https://x.example", events: [agent_suspended], insecure: true }',
      ),
    ).not.toEqual([]);
    expect(
      errors('  webhooks:\n    - { id: a, url: "ftp://x.example", events: [agent_suspended] }'),
    ).not.toEqual([]);
    expect(
      errors('  webhooks:\n    - { id: a, url: "https://x.example", events: [agent_suspended], timeout: 0 }'),
    ).toEqual(['test.yml:4:78: notifications.webhooks[0].timeout: must be longer than 0']);
  });

  it('warns about a webhook without a secret: its requests are unsigned', () => {
    expect(
      warnings('  webhooks:\n    - { id: chat, url: "https://x.example", events: [agent_suspended] }'),
    ).toEqual([
      'test.yml:4:7: warning: notifications.webhooks[0] (chat): no secret, so its requests are not signed and a receiver cannot tell them from forgeries',
    ]);
  });
});
