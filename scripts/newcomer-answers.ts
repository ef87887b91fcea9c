// The questions a newcomer to the bundled help centre would ask (test/fixtures/newcomer-questions.json, written before
// the answers were looked at), asked through POST /v1/tasks/support.answer on the embedded default (bundled corpus/ and
// tasks/, offline provider). An answer is right when it cites one of the question's documents and holds one of its gold
// texts. `npm run eval:answers` prints the count; run alone (`node --import tsx scripts/newcomer-answers.ts`) it lists
// every question with its answer, confidence and cited document.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import type { ModelClient } from '../src/model/types.js';
import { createTestContext, envelope } from '../test/helpers/context.js';
import { REPO_ROOT } from './evaldata.js';

export interface NewcomerQuestion {
  readonly question: string;
  readonly documents: readonly string[];
  readonly gold: readonly string[];
}

export interface NewcomerOutcome extends NewcomerQuestion {
  readonly answered: boolean;
  readonly answer: string;
  readonly confidence: number;
  readonly cited: string;
  readonly right: boolean;
}

export const NEWCOMER_QUESTIONS: readonly NewcomerQuestion[] = (
  JSON.parse(readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'newcomer-questions.json'), 'utf8')) as { questions: NewcomerQuestion[] }
).questions;

/** Each newcomer question asked of the bundled corpus through the HTTP stack, with `model` as the provider when given. */
export async function askNewcomerQuestions(model?: ModelClient): Promise<NewcomerOutcome[]> {
  const ctx = await createTestContext({ corpusDir: join(REPO_ROOT, 'corpus'), tokensPerDay: 1e12, ...(model === undefined ? {} : { model }) });
  try {
    const { key } = await ctx.createKey(['tasks:*']);
    const outcomes: NewcomerOutcome[] = [];
    for (const asked of NEWCOMER_QUESTIONS) {
      const response = await request(ctx.app)
        .post('/v1/tasks/support.answer')
        .set({ authorization: `Bearer ${key}`, 'content-type': 'application/json' })
        .send(JSON.stringify(envelope({ question: asked.question })));
      const output = response.body?.output as { answer?: string; confidence?: number; abstained?: boolean; citations?: string[] } | undefined;
      const answered = response.status === 200 && response.body.status === 'ok' && output?.abstained === false;
      const answer = output?.answer ?? '';
      const cited = (output?.citations?.[0] ?? '').split('#')[0] ?? '';
      const right = answered && asked.documents.includes(cited) && asked.gold.some((gold) => answer.toLowerCase().includes(gold.toLowerCase()));
      outcomes.push({ ...asked, answered, answer, confidence: output?.confidence ?? 0, cited, right });
    }
    return outcomes;
  } finally {
    await ctx.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const outcomes = await askNewcomerQuestions();
  for (const o of outcomes) {
    const verdict = o.right ? 'right' : o.answered ? 'WRONG' : 'abstained';
    console.log(`${verdict.padEnd(9)} ${o.confidence.toFixed(2)}  ${o.question}\n          ${o.cited || '-'}: ${o.answer.slice(0, 160)}`);
  }
  const right = outcomes.filter((o) => o.right).length;
  const answered = outcomes.filter((o) => o.answered).length;
  console.log(`\nnewcomer questions: ${right} of ${outcomes.length} right (answer from the right document with the gold text), ${answered} answered`);
}
