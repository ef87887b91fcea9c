import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { generateApiKey, generateSigningSecret, parseApiKey, verifyApiKeyHash } from '../src/security/api-key.js';
import { decodeSigningSecret } from '../src/security/webhook-signature.js';

/** Deterministic stand-in for crypto.randomBytes: every byte is `fill`. */
const fixedBytes = (fill: number) => (size: number) => Buffer.alloc(size, fill);

describe('generateApiKey (API2)', () => {
  test('generateApiKey, when given an environment, then the key is ak_<env>_<16 hex id>_<43-char base64url secret>', () => {
    const { id, key } = generateApiKey({ environment: 'production', random: fixedBytes(0xab) });
    assert.equal(id, 'ab'.repeat(8));
    assert.match(key, /^ak_prod_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    assert.equal(key, `ak_prod_${id}_${Buffer.alloc(32, 0xab).toString('base64url')}`);
    assert.equal(generateApiKey({ environment: 'development', random: fixedBytes(1) }).key.slice(0, 7), 'ak_dev_');
    assert.equal(generateApiKey({ environment: 'staging', random: fixedBytes(1) }).key.slice(0, 7), 'ak_stg_');
  });

  test('generateApiKey, when called, then the stored hash is the SHA-256 hex of the key and does not contain it', () => {
    const { key, hash } = generateApiKey({ environment: 'staging', random: randomBytes });
    assert.equal(hash, createHash('sha256').update(key).digest('hex'));
    // The whole secret: it may itself hold "_", so a single split segment can be short enough to occur by chance.
    const secret = key.split('_').slice(3).join('_');
    assert.equal(secret.length, 43);
    assert.ok(!hash.includes(secret));
  });

  test('generateApiKey, when the random source returns fewer bytes than asked, then it throws instead of shrinking the key', () => {
    assert.throws(() => generateApiKey({ environment: 'production', random: (size) => Buffer.alloc(size - 1) }), RangeError);
  });
});

describe('parseApiKey (API2)', () => {
  test('parseApiKey, when given a generated key, then it returns its environment, id and the stored hash', () => {
    const generated = generateApiKey({ environment: 'production', random: randomBytes });
    const parsed = parseApiKey(generated.key);
    assert.deepEqual(parsed, { environment: 'production', id: generated.id, secretHash: generated.hash });
    assert.ok(parsed !== null && verifyApiKeyHash(parsed.secretHash, generated.hash));
  });

  test('parseApiKey, when the base64url secret contains _ and -, then the id is still the third segment', () => {
    // 0xfb 0xff encodes to "-_" runs in base64url: separators inside the secret must not confuse the parser.
    const generated = generateApiKey({ environment: 'development', random: (size) => Buffer.alloc(size, size === 8 ? 0x01 : 0xfb) });
    assert.match(generated.key.split('_').slice(3).join('_'), /[-_]/);
    assert.equal(parseApiKey(generated.key)?.id, '01'.repeat(8));
  });

  test('parseApiKey, when the key is junk, then it returns null', () => {
    const id = '0123456789abcdef';
    const secret = 'A'.repeat(43);
    for (const junk of [
      '',
      `ak_live_${id}_${secret}`,
      `ak_prod_${id.toUpperCase()}_${secret}`,
      `ak_prod_${id}_${'A'.repeat(42)}`,
      `ak_prod_${id}_${secret}=`,
      ` ak_prod_${id}_${secret}`,
      `ak_prod_${id}_${secret}\n`,
      `sk_prod_${id}_${secret}`,
      `ak_prod_${id}_${'A'.repeat(100_000)}`,
    ]) {
      assert.equal(parseApiKey(junk), null, JSON.stringify(junk.slice(0, 80)));
    }
  });

  test('parseApiKey, when given any value at all, then it never throws and only accepts the key shape', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.anything()), (value) => {
        const parsed = parseApiKey(value);
        assert.ok(parsed === null || (typeof value === 'string' && value.startsWith('ak_')));
      }),
    );
  });

  test('parseApiKey, when a secret is moved under another environment prefix, then its hash no longer verifies', () => {
    const generated = generateApiKey({ environment: 'production', random: randomBytes });
    const moved = parseApiKey(generated.key.replace('ak_prod_', 'ak_dev_'));
    assert.ok(moved !== null);
    assert.equal(verifyApiKeyHash(moved.secretHash, generated.hash), false);
  });
});

describe('verifyApiKeyHash (API2)', () => {
  const stored = createHash('sha256').update('ak_prod_x').digest('hex');

  test('verifyApiKeyHash, when the hashes are equal, then true', () => {
    assert.equal(verifyApiKeyHash(stored, stored), true);
  });

  test('verifyApiKeyHash, when one character differs, then false', () => {
    const flipped = (stored[0] === '0' ? '1' : '0') + stored.slice(1);
    assert.equal(verifyApiKeyHash(flipped, stored), false);
  });

  test('verifyApiKeyHash, when the lengths differ, then false without throwing', () => {
    assert.equal(verifyApiKeyHash(stored.slice(1), stored), false);
    assert.equal(verifyApiKeyHash('', stored), false);
    assert.equal(verifyApiKeyHash(`${stored}00`, stored), false);
  });
});

describe('generateSigningSecret (SIG-7)', () => {
  test('generateSigningSecret, when called, then it is whsec_ + base64 of 32 random bytes', () => {
    const secret = generateSigningSecret(fixedBytes(7));
    assert.equal(secret, `whsec_${Buffer.alloc(32, 7).toString('base64')}`);
    assert.equal(decodeSigningSecret(secret).byteLength, 32);
  });

  test('generateSigningSecret, when handed to the standardwebhooks library, then it signs with it', () => {
    const secret = generateSigningSecret(randomBytes);
    const signature = new Webhook(secret).sign('msg_1', new Date(0), '{}');
    assert.match(signature, /^v1,[A-Za-z0-9+/]{43}=$/);
  });
});
