import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { generateSigningSecret } from '../src/security/api-key.js';
import {
  replayWindowSeconds,
  signWebhook,
  verifyWebhookSignature,
  type SignatureHeaders,
  type SignatureVerification,
} from '../src/security/webhook-signature.js';

// Standard Webhooks' own known-answer vector (webhook.test.ts "sign function works").
const KAT = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: Buffer.from('{"test": 2432232314}'),
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
const katNow = new Date(KAT.timestamp * 1000);
const katHeaders = (signature: string, timestamp = String(KAT.timestamp), id = KAT.id): SignatureHeaders => ({ id, timestamp, signature });

const verifyKat = (headers: SignatureHeaders, overrides: { rawBody?: Buffer; secrets?: string[]; now?: Date } = {}): SignatureVerification =>
  verifyWebhookSignature({
    headers,
    rawBody: overrides.rawBody ?? KAT.body,
    secrets: overrides.secrets ?? [KAT.secret],
    now: overrides.now ?? katNow,
  });

describe('Standard Webhooks interop (SIG-2, SIG-3)', () => {
  test('signWebhook, when given the Standard Webhooks known-answer inputs, then it produces the published signature', () => {
    assert.equal(signWebhook({ id: KAT.id, timestamp: KAT.timestamp, rawBody: KAT.body, secret: KAT.secret }), KAT.signature);
  });

  test('verifyWebhookSignature, when given the known-answer vector, then it passes and returns the webhook id', () => {
    assert.deepEqual(verifyKat(katHeaders(KAT.signature)), { ok: true, webhookId: KAT.id });
  });

  test('verifyWebhookSignature, when the standardwebhooks npm library signed the request, then it passes', () => {
    const secret = generateSigningSecret(randomBytes);
    const body = Buffer.from(JSON.stringify({ task: 'summarize', text: 'Grüße, naïve café ☕' }));
    const sentAt = new Date(1_700_000_000_000);
    const signature = new Webhook(secret).sign('msg_interop', sentAt, body);
    const result = verifyWebhookSignature({
      headers: { id: 'msg_interop', timestamp: '1700000000', signature },
      rawBody: body,
      secrets: [secret],
      now: new Date(sentAt.getTime() + 120_000),
    });
    assert.deepEqual(result, { ok: true, webhookId: 'msg_interop' });
  });

  test('signWebhook, when its output is checked by the standardwebhooks npm library, then the library accepts it', (t) => {
    // The library reads the wall clock for its tolerance check, so pin it.
    t.mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 });
    const secret = generateSigningSecret(randomBytes);
    const body = '{"event":"order.created"}';
    const signature = signWebhook({ id: 'msg_ours', timestamp: 1_700_000_000, rawBody: Buffer.from(body), secret });
    const payload = new Webhook(secret).verify(body, {
      'webhook-id': 'msg_ours',
      'webhook-timestamp': '1700000000',
      'webhook-signature': signature,
    });
    assert.deepEqual(payload, { event: 'order.created' });
  });
});

describe('signature list handling (SIG-3)', () => {
  test('verifyWebhookSignature, when the header is "v1,bad v2,x v1,good", then any matching v1 entry passes', () => {
    assert.equal(verifyKat(katHeaders(`v1,bad v2,x ${KAT.signature}`)).ok, true);
  });

  test('verifyWebhookSignature, when the only correct MAC is labelled with an unknown version, then it is ignored', () => {
    const mac = KAT.signature.slice('v1,'.length);
    assert.deepEqual(verifyKat(katHeaders(`v2,${mac} v1a,${mac}`)), { ok: false, code: 'signature_invalid', reason: 'no match' });
  });

  test('verifyWebhookSignature, when the signature decodes to a different length, then it is invalid without throwing', () => {
    for (const signature of ['v1,AAAA', `v1,${Buffer.alloc(64).toString('base64')}`, 'v1,', 'v1', ',', '   ', 'v1,!!!!', `${KAT.signature},extra`]) {
      assert.deepEqual(verifyKat(katHeaders(signature)), { ok: false, code: 'signature_invalid', reason: 'no match' }, signature);
    }
  });

  test('verifyWebhookSignature, when any header value at all arrives, then it returns a result and never throws', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.string({ maxLength: 20 }), fc.string({ maxLength: 60 }), (signature, timestamp, id) => {
        const result = verifyKat(katHeaders(signature, timestamp, id));
        assert.equal(result.ok, false);
      }),
    );
  });
});

describe('timestamp tolerance (SIG-4)', () => {
  const signedAt = (offsetSeconds: number): SignatureVerification => {
    const timestamp = KAT.timestamp + offsetSeconds;
    const signature = signWebhook({ id: KAT.id, timestamp, rawBody: KAT.body, secret: KAT.secret });
    return verifyKat(katHeaders(signature, String(timestamp)));
  };

  test('verifyWebhookSignature, when the timestamp is 301 s in the past or future, then it is out of tolerance', () => {
    for (const offset of [-301, 301]) {
      assert.deepEqual(signedAt(offset), { ok: false, code: 'signature_timestamp_out_of_tolerance', reason: 'timestamp' }, String(offset));
    }
  });

  test('verifyWebhookSignature, when the timestamp is within 299 or exactly 300 s either way, then it passes', () => {
    for (const offset of [-300, -299, 0, 299, 300]) assert.equal(signedAt(offset).ok, true, String(offset));
  });

  test('verifyWebhookSignature, when tolerance is configured below 1 s, then it refuses the configuration', () => {
    for (const toleranceSeconds of [0, -1, 0.5, Number.NaN]) {
      assert.throws(
        () => verifyWebhookSignature({ headers: katHeaders(KAT.signature), rawBody: KAT.body, secrets: [KAT.secret], now: katNow, toleranceSeconds }),
        RangeError,
      );
    }
    assert.throws(() => replayWindowSeconds(0), RangeError);
  });

  test('verifyWebhookSignature, when a custom tolerance is set, then it applies in both directions', () => {
    const options = { headers: katHeaders(KAT.signature), rawBody: KAT.body, secrets: [KAT.secret], toleranceSeconds: 10 };
    assert.equal(verifyWebhookSignature({ ...options, now: new Date(katNow.getTime() + 10_000) }).ok, true);
    assert.equal(verifyWebhookSignature({ ...options, now: new Date(katNow.getTime() + 11_000) }).ok, false);
    assert.equal(verifyWebhookSignature({ ...options, now: new Date(katNow.getTime() - 11_000) }).ok, false);
  });

  test('replayWindowSeconds, when the tolerance is the default 300 s, then ids are remembered for 600 s (SIG-5)', () => {
    assert.equal(replayWindowSeconds(), 600);
  });
});

describe('raw body (SIG-2)', () => {
  test('verifyWebhookSignature, when the body was re-serialised with one extra space, then it fails', () => {
    assert.deepEqual(verifyKat(katHeaders(KAT.signature), { rawBody: Buffer.from('{"test":  2432232314}') }), {
      ok: false,
      code: 'signature_invalid',
      reason: 'no match',
    });
  });

  test('verifyWebhookSignature, when the body is not valid UTF-8, then the exact bytes are what is signed', () => {
    const secret = generateSigningSecret(randomBytes);
    const body = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    const signature = signWebhook({ id: 'msg_bin', timestamp: KAT.timestamp, rawBody: body, secret });
    const headers = katHeaders(signature, String(KAT.timestamp), 'msg_bin');
    assert.equal(verifyKat(headers, { rawBody: body, secrets: [secret] }).ok, true);
    assert.equal(verifyKat(headers, { rawBody: Buffer.from([0x7b, 0xff, 0xfd, 0x7d]), secrets: [secret] }).ok, false);
  });

  test('verifyWebhookSignature, when any byte of any body is flipped, then a valid signature stops matching', () => {
    const secret = generateSigningSecret(() => Buffer.alloc(32, 9));
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 256 }), fc.nat(), (bytes, position) => {
        const body = Buffer.from(bytes);
        const signature = signWebhook({ id: 'msg_p', timestamp: KAT.timestamp, rawBody: body, secret });
        const headers = katHeaders(signature, String(KAT.timestamp), 'msg_p');
        assert.equal(verifyKat(headers, { rawBody: body, secrets: [secret] }).ok, true);
        const tampered = Buffer.from(body);
        const index = position % tampered.length;
        tampered[index] = tampered[index]! ^ 0x01;
        assert.equal(verifyKat(headers, { rawBody: tampered, secrets: [secret] }).ok, false);
      }),
    );
  });
});

describe('secret rotation (SIG-3, SIG-7)', () => {
  const oldSecret = generateSigningSecret(() => Buffer.alloc(32, 1));
  const newSecret = generateSigningSecret(() => Buffer.alloc(32, 2));
  const signedWith = (secret: string) => signWebhook({ id: KAT.id, timestamp: KAT.timestamp, rawBody: KAT.body, secret });

  test('verifyWebhookSignature, when two secrets are active, then a request signed with either passes', () => {
    assert.equal(verifyKat(katHeaders(signedWith(oldSecret)), { secrets: [newSecret, oldSecret] }).ok, true);
    assert.equal(verifyKat(katHeaders(signedWith(newSecret)), { secrets: [newSecret, oldSecret] }).ok, true);
  });

  test('verifyWebhookSignature, when the overlap has ended, then the old secret no longer passes', () => {
    assert.deepEqual(verifyKat(katHeaders(signedWith(oldSecret)), { secrets: [newSecret] }), {
      ok: false,
      code: 'signature_invalid',
      reason: 'no match',
    });
  });

  test('verifyWebhookSignature, when the sender signs with old and new secrets, then the new secret alone suffices', () => {
    assert.equal(verifyKat(katHeaders(`${signedWith(oldSecret)} ${signedWith(newSecret)}`), { secrets: [newSecret] }).ok, true);
  });

  test('verifyWebhookSignature, when every secret has expired (none left), then no signature matches', () => {
    assert.deepEqual(verifyKat(katHeaders(KAT.signature), { secrets: [] }), { ok: false, code: 'signature_invalid', reason: 'no match' });
  });

  test('verifyWebhookSignature, when a malformed or weak secret is configured, then it throws rather than fail open', () => {
    for (const secrets of [['whsec_'], ['MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], ['whsec_c2hvcnQ='], ['whsec_not base64!']]) {
      assert.throws(() => verifyKat(katHeaders(KAT.signature), { secrets }), RangeError, JSON.stringify(secrets));
    }
  });
});

describe('header checks (SIG-1, SIG-6, SIG-7)', () => {
  test('verifyWebhookSignature, when any of the three headers is absent or empty, then signature_missing', () => {
    const cases: SignatureHeaders[] = [
      { id: undefined, timestamp: String(KAT.timestamp), signature: KAT.signature },
      { id: KAT.id, timestamp: undefined, signature: KAT.signature },
      { id: KAT.id, timestamp: String(KAT.timestamp), signature: undefined },
      { id: '', timestamp: String(KAT.timestamp), signature: KAT.signature },
    ];
    for (const headers of cases) assert.deepEqual(verifyKat(headers), { ok: false, code: 'signature_missing', reason: 'missing' });
  });

  test('verifyWebhookSignature, when the id holds "." or non-printable characters, then signature_invalid (format)', () => {
    for (const id of ['msg.1', 'msg 1', 'msg\n1', 'msg\u00001', 'msgé', 'm'.repeat(257)]) {
      assert.deepEqual(verifyKat(katHeaders(KAT.signature, String(KAT.timestamp), id)), { ok: false, code: 'signature_invalid', reason: 'format' }, id);
    }
  });

  test('verifyWebhookSignature, when the timestamp is not 1 to 10 digits, then signature_invalid (format)', () => {
    for (const timestamp of ['1614265330.0', '-1614265330', '+1614265330', ' 1614265330', '16142653300', '1614265330000', '1e9', '0x60376']) {
      assert.deepEqual(verifyKat(katHeaders(KAT.signature, timestamp)), { ok: false, code: 'signature_invalid', reason: 'format' }, timestamp);
    }
  });

  test('verifyWebhookSignature, when the signature header is longer than any rotation needs, then signature_invalid (format)', () => {
    const long = Array.from({ length: 30 }, () => KAT.signature).join(' ');
    assert.deepEqual(verifyKat(katHeaders(long)), { ok: false, code: 'signature_invalid', reason: 'format' });
  });

  test('verifyWebhookSignature, when it fails, then the result names the failed check and never the secret or signature', () => {
    const failures = [
      verifyKat({ id: undefined, timestamp: undefined, signature: undefined }),
      verifyKat(katHeaders(KAT.signature, 'x')),
      verifyKat(katHeaders(KAT.signature, String(KAT.timestamp + 1000))),
      verifyKat(katHeaders(KAT.signature), { rawBody: Buffer.from('{}') }),
    ];
    assert.deepEqual(failures.map((failure) => (failure.ok ? 'ok' : failure.reason)), ['missing', 'format', 'timestamp', 'no match']);
    const mac = KAT.signature.slice(3);
    for (const failure of failures) {
      const text = JSON.stringify(failure);
      assert.ok(!text.includes(mac) && !text.includes(KAT.secret.slice(6)), text);
    }
  });

  test('signWebhook, when the id contains "." or the timestamp is not whole seconds, then it refuses to sign', () => {
    assert.throws(() => signWebhook({ id: 'a.b', timestamp: KAT.timestamp, rawBody: KAT.body, secret: KAT.secret }), RangeError);
    assert.throws(() => signWebhook({ id: 'ab', timestamp: 1.5, rawBody: KAT.body, secret: KAT.secret }), RangeError);
    assert.throws(() => signWebhook({ id: 'ab', timestamp: -1, rawBody: KAT.body, secret: KAT.secret }), RangeError);
  });
});
