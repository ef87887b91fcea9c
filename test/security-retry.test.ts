import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PROBLEMS } from '../src/errors.js';
import { backoffDelay, isRetryableStatus, parseRetryAfter } from '../src/security/retry.js';

const now = new Date(Date.UTC(2026, 0, 15, 12, 0, 0));

describe('isRetryableStatus (RETRY-1)', () => {
  test('isRetryableStatus, when the status is transient, then true; when permanent, then false', () => {
    for (const status of [408, 429, 500, 502, 503, 504]) assert.equal(isRetryableStatus(status), true, String(status));
    for (const status of [200, 301, 400, 401, 403, 404, 405, 409, 410, 413, 415, 422, 501]) assert.equal(isRetryableStatus(status), false, String(status));
  });

  test('isRetryableStatus, when a 409 problem says retryable, then true (in progress); when it says false, then false (replayed)', () => {
    assert.equal(isRetryableStatus(409, { problemRetryable: PROBLEMS.idempotency_request_in_progress.retryable }), true);
    assert.equal(isRetryableStatus(409, { problemRetryable: PROBLEMS.request_replayed.retryable }), false);
  });

  test('isRetryableStatus, when the problem member is not a boolean, then it is ignored (RFC 9457)', () => {
    assert.equal(isRetryableStatus(503, { problemRetryable: 'false' }), true);
    assert.equal(isRetryableStatus(400, { problemRetryable: 1 }), false);
  });

  test('isRetryableStatus, when x-should-retry is present, then it overrides the status and the problem body', () => {
    assert.equal(isRetryableStatus(503, { shouldRetryHeader: 'false', problemRetryable: true }), false);
    assert.equal(isRetryableStatus(400, { shouldRetryHeader: ' TRUE ' }), true);
    assert.equal(isRetryableStatus(503, { shouldRetryHeader: 'maybe' }), true);
  });
});

describe('parseRetryAfter (RETRY-1, RFC 9110 §10.2.3)', () => {
  test('parseRetryAfter, when given delay-seconds, then it returns them, capped at 60 s by default', () => {
    assert.equal(parseRetryAfter('0', now), 0);
    assert.equal(parseRetryAfter('5', now), 5);
    assert.equal(parseRetryAfter('120', now), 60);
    assert.equal(parseRetryAfter('120', now, 300), 120);
    assert.equal(parseRetryAfter('99999999999999999999999', now), 60);
  });

  test('parseRetryAfter, when given an IMF-fixdate, then it returns the whole seconds until then', () => {
    assert.equal(parseRetryAfter('Thu, 15 Jan 2026 12:00:30 GMT', now), 30);
    assert.equal(parseRetryAfter('Thu, 15 Jan 2026 13:00:00 GMT', now), 60);
  });

  test('parseRetryAfter, when given the obsolete RFC 850 or asctime forms, then they are accepted too', () => {
    assert.equal(parseRetryAfter('Thursday, 15-Jan-26 12:00:10 GMT', now), 10);
    assert.equal(parseRetryAfter('Thu Jan 15 12:00:20 2026', now), 20);
    assert.equal(parseRetryAfter('Thu Jan  1 00:00:00 2026', now), 0);
  });

  test('parseRetryAfter, when the date is in the past, then 0', () => {
    assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', now), 0);
  });

  test('parseRetryAfter, when the value is absent or malformed, then undefined so the client falls back to backoff', () => {
    for (const value of [undefined, null, '', '-1', '1.5', '5s', 'soon', 'Thu, 31 Feb 2026 12:00:00 GMT', 'Thu, 15 Foo 2026 12:00:00 GMT', '2026-01-15T12:00:30Z', '9'.repeat(100) + 'x']) {
      assert.equal(parseRetryAfter(value, now), undefined, String(value));
    }
  });

  test('parseRetryAfter, when given any string, then it never throws and never exceeds the cap', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (value) => {
        const seconds = parseRetryAfter(value, now);
        assert.ok(seconds === undefined || (Number.isInteger(seconds) && seconds >= 0 && seconds <= 60));
      }),
    );
  });
});

describe('backoffDelay (RETRY-2)', () => {
  test('backoffDelay, when no jitter is drawn, then it doubles from 500 ms and stops at 8 s', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 50].map((attempt) => backoffDelay(attempt, () => 0)), [500, 1000, 2000, 4000, 8000, 8000, 8000]);
  });

  test('backoffDelay, when jitter is drawn, then it subtracts at most 25%', () => {
    fc.assert(
      fc.property(fc.nat({ max: 2000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, fraction) => {
        const ceiling = Math.min(8000, 500 * 2 ** Math.min(attempt, 30));
        const delay = backoffDelay(attempt, () => fraction);
        assert.ok(delay >= ceiling * 0.75 && delay <= ceiling, `${attempt}: ${delay}`);
      }),
    );
  });

  test('backoffDelay, when the random source misbehaves, then the jitter stays within its bounds', () => {
    assert.equal(backoffDelay(0, () => 5), 375);
    assert.equal(backoffDelay(0, () => -5), 500);
  });

  test('backoffDelay, when custom base and cap are given, then they apply', () => {
    assert.equal(backoffDelay(2, () => 0, { baseMs: 100, maxMs: 250 }), 250);
    assert.equal(backoffDelay(1, () => 0.5, { baseMs: 100 }), 175);
  });

  test('backoffDelay, when the attempt is negative or fractional, then it throws', () => {
    for (const attempt of [-1, 0.5, Number.NaN]) assert.throws(() => backoffDelay(attempt, () => 0), RangeError);
  });
});
