// Credentials inside strings: each detector by name, secretlint's rules through our runner, and look-alikes left alone.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DETECTORS, findSecrets, maskSpans, SECRETLINT } from '../../src/secrets/index.js';

/** Built at run time, so no credential-shaped literal sits in the repository. */
const fake = {
  github: `ghp_${'a1B2'.repeat(9)}`,
  npm: `npm_${'c3D4'.repeat(9)}`,
  slack: `xoxb-${'1'.repeat(12)}-${'2'.repeat(13)}-${'AbCd'.repeat(6)}`,
  awsId: `AKIA${'Z7Q2X9W3E4R5T6Y8'}`,
  awsSecret: `${'Wz9/'.repeat(9)}Wz9x`,
  jwt: `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.${'dozjgNryP4J3jVmNHl0w5N'}`,
  google: `AIza${'Sy'.repeat(17)}X`,
  stripe: `sk_live_${'9fK2'.repeat(6)}`,
  bearer: 'tok.9f8e7d6c5b4a',
};

/** What each span covers, for readable assertions. */
function masked(text: string): string[] {
  return (findSecrets([text])[0] ?? []).map((span) => text.slice(span.start, span.end));
}
function detectorsOf(text: string): string[] {
  return (findSecrets([text])[0] ?? []).map((span) => span.detector);
}

describe('our detectors, each by name', () => {
  const cases: Array<[id: string, text: string, secret: string]> = [
    ['jwt', `session ${fake.jwt} expires`, fake.jwt],
    ['named-header', `curl -H "Authorization: Bearer ${fake.bearer}" https://api.example.com`, fake.bearer],
    ['named-header', 'Authorization: Basic YWxpY2U6c2VjcmV0', 'YWxpY2U6c2VjcmV0'],
    ['named-header', 'X-Api-Key: k-1234567890', 'k-1234567890'],
    ['named-header', 'Cookie: sid=abc123; theme=dark', 'sid=abc123; theme=dark'],
    ['named-header', 'db password: correct horse battery', 'correct horse battery'],
    ['named-assignment', 'https://api.example.com/v1/me?access_token=abc123def&page=2', 'abc123def'],
    ['named-assignment', 'https://blob.example.net/c/f?sv=2024&sig=Zm9vYmFyYmF6&se=2030', 'Zm9vYmFyYmF6'],
    ['named-assignment', 'API_KEY=zz9-secret ./deploy.sh', 'zz9-secret'],
    ['named-assignment', 'psql --password="hunter 2" db', 'hunter 2'],
    ['named-assignment', 'grant_type=client_credentials&client_secret=s3cr3t', 's3cr3t'],
    ['named-flag', 'mysql --user root --password hunter22 shop', 'hunter22'],
    ['named-flag', "gh auth login --token 'abc-def-ghi'", 'abc-def-ghi'],
    ['named-json-member', '{"user":"ada","password":"p4ss!word"}', 'p4ss!word'],
    ['named-json-member', "{'api_key': 'k-9876543210'}", 'k-9876543210'],
    ['bearer', `the header was bearer ${fake.bearer} yesterday`, fake.bearer],
    ['url-userinfo', 'redis://default:R3d1s-pw@cache.internal:6379/0', 'R3d1s-pw'],
    ['url-userinfo', 'amqp://guest:gu3st!@mq:5672', 'gu3st!'],
    ['google-api-key', `maps?key=${fake.google}`, fake.google],
    ['stripe-key', `charge with ${fake.stripe} now`, fake.stripe],
  ];

  it.each(cases)('%s finds the credential in %j, and only it', (id, text, secret) => {
    expect(masked(text)).toEqual([secret]);
    expect(detectorsOf(text).join('+')).toContain(id);
    const detector = DETECTORS.find((d) => d.id === id);
    const own: { start: number; end: number }[] = [];
    detector?.find(text, own as never);
    expect(own.map((s) => text.slice(s.start, s.end))).toContain(secret);
  });

  it('private-key-block masks a whole PEM key, also one cut short', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString().trim();
    expect(masked(`key:\n${pem}\nend`)).toEqual([pem]);
    const cut = pem.slice(0, 60);
    expect(masked(`pasted ${cut}`)).toEqual([cut]);
  });

  it('leaves look-alikes and ordinary text alone', () => {
    for (const text of [
      'max_tokens=100&temperature=0.2',
      'token_count: 3',
      'token_address: 0x52908400098527886E0F7030069857D2E4169EE7',
      'signature: Ada Lovelace',
      'passenger: Ada, keyboard: qwerty',
      'See https://example.com/a:b@c for details',
      'mailto: ada@example.com',
      'Customer reports the parcel arrived damaged; refund the item, keep the shipping fee.',
      'meeting at 10:30, room=4',
      'next_page_token=CAUQAA&page_size=10',
      '--max-tokens 500 --verbose',
      `{"token_count": 12, "signature": "approved by Ada"}`,
    ]) {
      expect([text, masked(text)]).toEqual([text, []]);
    }
  });
});

describe('secretlint rules (recommended preset, run without its core)', () => {
  it.each([
    ['github', `push with ${fake.github}`, fake.github],
    ['npm', `//registry.npmjs.org/:_authToken=${fake.npm}`, fake.npm],
    ['slack', `slack ${fake.slack}`, fake.slack],
    ['aws (access key id: needs the ID scan we switch on)', `key ${fake.awsId} here`, fake.awsId],
    ['aws (secret access key)', `aws_secret_access_key = ${fake.awsSecret}`, fake.awsSecret],
    ['database-connection-string', 'mongodb+srv://app:m0ng0-pw@cluster0.example.net/shop', 'm0ng0-pw'],
    ['basicauth', 'ftp://alice:s3cr3tpw@files.example.com/in', 's3cr3tpw'],
  ])('%s', (_rule, text, secret) => {
    // secretlint's own spans alone must hide the whole credential (none of it left readable).
    const found: { start: number; end: number; detector: string }[] = [];
    SECRETLINT.find(text, found);
    expect(found.length).toBeGreaterThan(0);
    const out = maskSpans(text, found, () => '#');
    expect(out).not.toContain(secret.slice(-8));
    expect(out).not.toContain(secret.slice(0, 8));
    expect(masked(text).join('')).toContain(secret);
  });

  it('masks only the password of a URL they report, so the URL stays readable', () => {
    for (const text of [
      'postgres://admin:hunter22@db.local:5432/app',
      'https://alice:s3cr3tpw@example.com/path',
    ]) {
      const found: { start: number; end: number }[] = [];
      SECRETLINT.find(text, found as never);
      expect(maskSpans(text, found as never, () => '#')).toMatch(/^[a-z]+:\/\/[a-z]+:#@[a-z.]+/);
    }
  });

  it('cannot be switched off from inside the text (the filter-comments rule is not run)', () => {
    const text = `// secretlint-disable\n${fake.github}\n// secretlint-enable`;
    expect(masked(text)).toEqual([fake.github]);
  });

  it('reports no AWS account id (it names an account, it grants nothing)', () => {
    expect(masked('AWS_ACCOUNT_ID=1234-5678-9012')).toEqual([]);
  });
});

describe('one scan over many strings', () => {
  it('maps every finding back to its own string', () => {
    const texts = [
      'plain words here',
      `token ${fake.github} in the middle`,
      'short',
      `${fake.jwt}`,
      'x'.repeat(20),
    ];
    const spans = findSecrets(texts);
    expect(
      spans.map((list) => list.map((s) => (texts[spans.indexOf(list)] as string).slice(s.start, s.end))),
    ).toEqual([[], [fake.github], [], [fake.jwt], []]);
  });

  it('never joins the end of one string to the next', () => {
    for (const texts of [
      ['password', ': hunter2'],
      ['API_KEY', '=zz9-secret'],
      ['https://alice', ':pw-1234@example.com'],
      ['Authorization: Bearer', ` ${fake.bearer}`],
    ]) {
      expect([texts, findSecrets(texts).flat()]).toEqual([texts, []]);
    }
  });

  it('finds a credential every time, next to texts it already found clean', () => {
    const secret = `token ${fake.github} here`;
    const before = 'a clean text scanned first, twice';
    expect(findSecrets([before]).flat()).toEqual([]);
    expect(findSecrets([before]).flat()).toEqual([]);
    for (let round = 0; round < 3; round++) {
      const spans = findSecrets([before, secret, before]);
      expect(spans.map((list) => list.length)).toEqual([0, 1, 0]);
      expect(secret.slice(spans[1]?.[0]?.start, spans[1]?.[0]?.end)).toBe(fake.github);
    }
    // Remembered clean texts keep their spans' offsets right for the texts after them.
    const spans = findSecrets([before, 'short', before, secret]);
    expect(secret.slice(spans[3]?.[0]?.start, spans[3]?.[0]?.end)).toBe(fake.github);
  });

  it('masks in place: the rest of the string stays readable', () => {
    const text = `curl -H "Authorization: Bearer ${fake.bearer}" -H "Accept: json" https://x.example/?access_token=abc123`;
    const out = maskSpans(text, findSecrets([text])[0] ?? [], (secret) => `<${secret.length}>`);
    expect(out).toBe(
      `curl -H "Authorization: Bearer <${fake.bearer.length}>" -H "Accept: json" https://x.example/?access_token=<6>`,
    );
  });
});
