import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseItem, serializeItem } from 'structured-headers';
import { idempotencyScope, parseIdempotencyKey, requestFingerprint } from '../src/security/idempotency-key.js';

const printableKey = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code)), minLength: 1, maxLength: 255 });

describe('parseIdempotencyKey (IDEM-1)', () => {
  test('parseIdempotencyKey, when the quoted and the bare form carry the same key, then both yield it', () => {
    const uuid = '8e03978e-40d5-43e8-bc93-6894a57f9324';
    assert.deepEqual(parseIdempotencyKey(`"${uuid}"`), { ok: true, key: uuid });
    assert.deepEqual(parseIdempotencyKey(uuid), { ok: true, key: uuid });
  });

  test('parseIdempotencyKey, when the sf-string has \\" and \\\\ escapes, then they are unescaped', () => {
    assert.deepEqual(parseIdempotencyKey(String.raw`"a\"b\\c"`), { ok: true, key: String.raw`a"b\c` });
  });

  test('parseIdempotencyKey, when an RFC 8941 serializer quoted any printable key, then it parses back to the same key', () => {
    fc.assert(
      fc.property(printableKey, (key) => {
        const header = serializeItem(key);
        assert.deepEqual(parseIdempotencyKey(header), { ok: true, key });
        assert.equal(parseItem(header)[0], key);
      }),
    );
  });

  test('parseIdempotencyKey, when the key is 255 characters, then it is accepted; at 256, then idempotency_key_invalid', () => {
    assert.equal(parseIdempotencyKey('k'.repeat(255)).ok, true);
    assert.equal(parseIdempotencyKey(`"${'k'.repeat(255)}"`).ok, true);
    assert.equal(parseIdempotencyKey(`"${'\\"'.repeat(255)}"`).ok, true);
    for (const header of ['k'.repeat(256), `"${'k'.repeat(256)}"`, 'k'.repeat(100_000)]) {
      const result = parseIdempotencyKey(header);
      assert.ok(!result.ok && !result.absent && result.code === 'idempotency_key_invalid');
    }
  });

  test('parseIdempotencyKey, when the value is empty, spaced, non-ASCII or a broken sf-string, then idempotency_key_invalid', () => {
    for (const header of ['', '""', 'a b', '" a"', 'ключ', 'key\u0000', 'tab\there', '"unterminated', '"a"b"', String.raw`"\a"`, '"abc";p=1', '"é"']) {
      const result = parseIdempotencyKey(header);
      assert.ok(!result.ok && !result.absent && result.code === 'idempotency_key_invalid', JSON.stringify(header));
      assert.ok(result.reason.length > 0);
    }
  });

  test('parseIdempotencyKey, when the header is absent, then it reports idempotency_key_missing for routes that require one (IDEM-2)', () => {
    assert.deepEqual(parseIdempotencyKey(undefined), { ok: false, absent: true, code: 'idempotency_key_missing' });
  });
});

describe('requestFingerprint (IDEM-4)', () => {
  const body = Buffer.from('{"task":"summarize","data":{"text":"hi"}}');

  test('requestFingerprint, when computed, then it is SHA-256 hex over method, route, normalized query and raw body', () => {
    const expected = createHash('sha256').update('POST\n/v1/tasks/:task\na=2&b=1\n').update(body).digest('hex');
    assert.equal(requestFingerprint('post', '/v1/tasks/:task', body, 'b=1&a=2'), expected);
  });

  test('requestFingerprint, when the body differs by one byte, then the fingerprint differs', () => {
    const spaced = Buffer.from('{"task": "summarize","data":{"text":"hi"}}');
    assert.notEqual(requestFingerprint('POST', '/v1/tasks/:task', body), requestFingerprint('POST', '/v1/tasks/:task', spaced));
  });

  test('requestFingerprint, when query parameters are reordered, then the fingerprint is the same; when a value changes, then it differs', () => {
    const base = requestFingerprint('POST', '/v1/answers', body, 'a=1&b=2');
    assert.equal(requestFingerprint('POST', '/v1/answers', body, '?b=2&a=1'), base);
    assert.notEqual(requestFingerprint('POST', '/v1/answers', body, 'a=1&b=3'), base);
  });

  test('requestFingerprint, when the route or method differs, then the fingerprint differs', () => {
    const base = requestFingerprint('POST', '/v1/answers', body);
    assert.notEqual(requestFingerprint('POST', '/v1/tasks/:task', body), base);
    assert.notEqual(requestFingerprint('PUT', '/v1/answers', body), base);
  });
});

describe('idempotencyScope (IDEM-3)', () => {
  test('idempotencyScope, when another API key sends the same key, then the scope differs', () => {
    assert.notEqual(idempotencyScope('key_a', 'POST', '/v1/answers', 'k1'), idempotencyScope('key_b', 'POST', '/v1/answers', 'k1'));
  });

  test('idempotencyScope, when the same key is sent to another route, then the scope differs', () => {
    assert.notEqual(idempotencyScope('key_a', 'POST', '/v1/answers', 'k1'), idempotencyScope('key_a', 'POST', '/v1/tasks/:task', 'k1'));
  });

  test('idempotencyScope, when the method differs only in case, then the scope is the same', () => {
    assert.equal(idempotencyScope('key_a', 'post', '/v1/answers', 'k1'), idempotencyScope('key_a', 'POST', '/v1/answers', 'k1'));
  });

  test('idempotencyScope, when a key contains separator-like characters, then it cannot collide with another tuple', () => {
    assert.notEqual(idempotencyScope('a', 'POST', '/r', 'x","y'), idempotencyScope('a", "x', 'POST', '/r', 'y'));
    assert.notEqual(idempotencyScope('a:b', 'POST', '/r', 'c'), idempotencyScope('a', 'POST', '/r', 'b:c'));
  });
});
