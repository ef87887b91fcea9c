// Issue 16 through the HTTP stack: POST /v1/tasks/support.answer on the embedded default (offline provider, bundled
// corpus/) answers what a sentence supports, abstains on a near-miss and on an off-topic question (LLM09-2).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { rmSync } from 'node:fs';
import { createTestContext, editedBundledTasks, envelope, type TestContext } from './helpers/context.js';

const BUNDLED_CORPUS = join(import.meta.dirname, '..', 'corpus');

interface SupportAnswer {
  readonly status: string;
  readonly output: { answer: string; citations: string[]; confidence: number; abstained: boolean };
}

/** Asks support.answer through the HTTP stack; every call here must be a 200 (answered or abstained). */
async function askSupport(ctx: TestContext, key: string, question: string): Promise<SupportAnswer> {
  const response = await request(ctx.app)
    .post('/v1/tasks/support.answer')
    .set({ authorization: `Bearer ${key}`, 'content-type': 'application/json' })
    .send(JSON.stringify(envelope({ question })));
  assert.equal(response.status, 200);
  return response.body;
}

describe('grounded offline answers over HTTP (issue 16, LLM09-2)', () => {
  let ctx: TestContext;
  let key: string;
  before(async () => {
    ctx = await createTestContext({ corpusDir: BUNDLED_CORPUS });
    ({ key } = await ctx.createKey(['tasks:*']));
  });
  after(async () => ctx.close());

  const ask = (question: string): Promise<SupportAnswer> => askSupport(ctx, key, question);
  /** Each question is answered (status ok) with text matching its pattern, citing its document first. */
  const expectAnswers = async (expected: ReadonlyArray<readonly [string, string, RegExp]>): Promise<void> => {
    for (const [question, document, answer] of expected) {
      const body = await ask(question);
      assert.equal(body.status, 'ok', question);
      assert.match(body.output.answer, answer, question);
      assert.match(body.output.citations[0] ?? '', new RegExp(`^${document}#`), question);
    }
  };

  test('an answerable question is answered with the one supporting unit, here the list under its heading, cited', async () => {
    const body = await ask('Which payment methods do you accept?');
    assert.equal(body.status, 'ok');
    assert.match(body.output.answer, /^Accepted methods: iDEAL \(Netherlands\); Bancontact \(Belgium\); Visa, Mastercard and American Express; PayPal;/);
    assert.equal(body.output.citations.length, 1);
    assert.match(body.output.citations[0] ?? '', /^payment-methods#/);
  });

  test('a newcomer\'s first questions are answered from the section that answers them, cited (pause, skip, decaf, shop hours…)', async () => {
    const expected: ReadonlyArray<readonly [string, string, RegExp]> = [
      ['How do I pause my subscription?', 'subscription-pause-skip-cancel', /^Choose Pause to stop deliveries/],
      ['Can I skip a delivery?', 'subscription-pause-skip-cancel', /^Choose Skip next delivery/],
      ['Do you have decaf coffee?', 'allergy-and-decaf', /Decaf is our only decaffeinated coffee/],
      ['When is the roastery shop open?', 'contact-and-support-hours', /open on Saturdays from 10:00 to 16:00/],
      ['How long is the password reset link valid?', 'account-and-password-reset', /valid for 60 minutes/],
      ['What happens if a payment fails?', 'payment-methods', /we try again after 24 hours/],
    ];
    await expectAnswers(expected);
  });

  test('the kind asked is read past its wording: a phone number is a number, "how long … take" a duration, "how do I" an instruction (numbered steps read whole)', async () => {
    const expected: ReadonlyArray<readonly [string, string, RegExp]> = [
      ['What is your phone number?', 'contact-and-support-hours', /\+31 30 555 0142/],
      ['How long does shipping to Germany take?', 'shipping-times-and-costs', /Germany — .*2–3 business days/],
      ['How do I change my e-mail address?', 'account-and-password-reset', /^Log in and go to Account details\.$/],
      ['How do I reset my password?', 'account-and-password-reset', /^Reset your password: Go to \S+lost-password; Enter .*; Open .*; Choose a new password/],
    ];
    await expectAnswers(expected);
  });

  test('a near-miss question whose key term the corpus lacks is abstained on', async () => {
    for (const question of ['How long is the password reset link valid in Japan?', 'When did the roastery open its Berlin shop?']) {
      const body = await ask(question);
      assert.equal(body.status, 'abstained', question);
      assert.deepEqual(body.output, { answer: '', citations: [], confidence: 0, abstained: true });
    }
  });

  test('an off-topic banking question that shares words with the corpus is abstained on', async () => {
    for (const question of ['I lost my phone!', 'how to change name', 'My card payment is still on hold, why is it so?']) {
      const body = await ask(question);
      assert.equal(body.status, 'abstained', question);
    }
  });
});

describe('the task policy sets the answer threshold (issue 16 item 2)', () => {
  const question = 'Can I change my delivery address?';
  const answerWith = async (threshold: number | undefined): Promise<{ status: string; output: { confidence: number; abstained: boolean } }> => {
    const tasksDir = editedBundledTasks({
      'support.answer': (spec) => {
        if (threshold !== undefined) spec['answer_threshold'] = threshold;
      },
    });
    const ctx = await createTestContext({ corpusDir: BUNDLED_CORPUS, tasksDir });
    try {
      const { key } = await ctx.createKey(['tasks:*']);
      return await askSupport(ctx, key, question);
    } finally {
      await ctx.close();
      rmSync(tasksDir, { recursive: true, force: true });
    }
  };

  test('task.json answer_threshold above the answer\'s confidence turns the answer into an abstention; below it, the answer stands', async () => {
    const usual = await answerWith(undefined);
    assert.equal(usual.status, 'ok');
    const strict = await answerWith(Math.min(1, usual.output.confidence + 0.05));
    assert.equal(strict.status, 'abstained');
    assert.deepEqual(strict.output, { answer: '', citations: [], confidence: 0, abstained: true });
    // The confidence shown is rounded to two places: just below it the answer still clears the threshold.
    const lenient = await answerWith(usual.output.confidence - 0.01);
    assert.equal(lenient.status, 'ok');
    assert.equal(lenient.output.confidence, usual.output.confidence);
  });
});
