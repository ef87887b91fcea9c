// Grounded-answer quality of the embedded default (issue 16), measured through POST /v1/tasks/support.answer on a real app
// (the test harness's createApp, the bundled task policy, the offline provider the server runs):
// - SQuAD v2 part a: every paragraph an approved document; answerable questions must be answered with the gold text,
//   unanswerable (near-miss) ones abstained on. Prints accuracy, abstention, precision of the answers given, a
//   calibration table, the precision/coverage curve over an answer threshold, and a per-question-type breakdown.
//   The figures are out of fold: each article's questions are answered by the offline provider with a model fitted
//   (scripts/answer-fit.ts, as `npm run fit:answers` does) on the other articles; ANSWER_MODEL=shipped uses the shipped
//   model instead, which was fitted on these very questions (in sample).
// - banking77 questions (off-topic) on the bundled coffee-shop corpus and on SQuAD: the share answered instead of
//   abstained, on the odd rows (the even rows are the fit's off-topic negatives on the SQuAD corpus).
// - The newcomer questions on the bundled corpus (test/fixtures/newcomer-questions.json, scripts/newcomer-answers.ts):
//   answered right (from the right document, with the gold text), with the shipped model.
// - The provider's own CPU time per call (its complete(), no HTTP), on the shared machine: read it next to `uptime`.
// Usage: npm run eval:answers [-- SQUAD_FILE] ; OFF_TOPIC_LIMIT=N caps the banking77 questions (default: all 3,080).
import { join } from 'node:path';
import request from 'supertest';
import type { AnswerModel } from '../src/model/extractive/answer-model.js';
import { DEFAULT_GROUNDED_ANSWER_OPTIONS } from '../src/model/extractive/answer.js';
import { createOfflineModel } from '../src/model/offline.js';
import type { ModelClient } from '../src/model/types.js';
import { createTestContext, envelope, type TestContext } from '../test/helpers/context.js';
import { judge, leaveArticleOut, offTopicHalves, retrieveAll } from './answer-fit.js';
import { askNewcomerQuestions } from './newcomer-answers.js';
import { banking77, foldAnswer, ingestSquad, readSquad, REPO_ROOT, SQUAD_PART_A } from './evaldata.js';

const file = process.argv[2] ?? SQUAD_PART_A;
const offTopicLimit = Number(process.env['OFF_TOPIC_LIMIT'] ?? Number.POSITIVE_INFINITY);
const inSample = process.env['ANSWER_MODEL'] === 'shipped';

/** The offline provider, with the answer model of the article being asked about, timing its own CPU use per call. */
function timedOfflineProvider(): { provider: ModelClient; use(model: AnswerModel | undefined): void; cpuMs: number[] } {
  let current = createOfflineModel();
  const cpuMs: number[] = [];
  return {
    cpuMs,
    use(model) {
      current = createOfflineModel(model === undefined ? DEFAULT_GROUNDED_ANSWER_OPTIONS : { ...DEFAULT_GROUNDED_ANSWER_OPTIONS, model });
    },
    provider: {
      provider: current.provider,
      modelName: current.modelName,
      refuses: (task) => current.refuses?.(task),
      async complete(modelRequest) {
        const started = process.cpuUsage();
        const reply = await current.complete(modelRequest);
        const used = process.cpuUsage(started);
        cpuMs.push((used.user + used.system) / 1000);
        return reply;
      },
    },
  };
}

interface Outcome {
  readonly type: string;
  readonly answerable: boolean;
  readonly answered: boolean;
  /** Answered with a gold answer's text inside the answer (answerable questions only). */
  readonly right: boolean;
  readonly confidence: number;
}

/** The question's kind by its wh-phrase, as a reader would sort them (independent of the provider's own classifier). */
function questionKind(question: string): string {
  const q = question.toLowerCase();
  if (/\bhow (many|much)\b/.test(q)) return 'how many/much';
  if (/\b(what|which) (year|decade|century|date|month|day)\b|\bwhen\b/.test(q)) return 'when';
  if (/\bwho(m|se)?\b/.test(q)) return 'who';
  if (/\bwhere\b/.test(q)) return 'where';
  if (/\bwhy\b/.test(q)) return 'why';
  if (/\bhow\b/.test(q)) return 'how';
  if (/\bwhich\b/.test(q)) return 'which';
  if (/\bwhat\b/.test(q)) return 'what';
  return 'other';
}

async function ask(ctx: TestContext, key: string, question: string): Promise<{ answered: boolean; answer: string; confidence: number }> {
  const response = await request(ctx.app)
    .post('/v1/tasks/support.answer')
    .set({ authorization: `Bearer ${key}`, 'content-type': 'application/json' })
    .send(JSON.stringify(envelope({ question })));
  const output = response.body?.output as { answer?: string; confidence?: number; abstained?: boolean } | undefined;
  // Only a 200 with status ok is an answer; abstentions, reviews and refusals are not.
  const answered = response.status === 200 && response.body.status === 'ok' && output?.abstained === false;
  return { answered, answer: output?.answer ?? '', confidence: output?.confidence ?? 0 };
}

/** The confidence of each off-topic question answered (abstentions are left out), so a threshold's effect can be read off. */
async function offTopicAnswers(ctx: TestContext, questions: readonly string[]): Promise<number[]> {
  const { key } = await ctx.createKey(['tasks:*']);
  const confidences: number[] = [];
  for (const question of questions) {
    const reply = await ask(ctx, key, question);
    if (reply.answered) confidences.push(reply.confidence);
  }
  return confidences;
}

const pct = (part: number, whole: number): string => (whole === 0 ? '   -  ' : `${((100 * part) / whole).toFixed(1).padStart(5)}%`);

const squad = readSquad(file);
const offline = timedOfflineProvider();
const squadCtx = await createTestContext({ corpusDir: null, tokensPerDay: 1e12, model: offline.provider });
await ingestSquad(squadCtx.corpus, squad, 'help');
// The fit sees the same retrieval the server runs (same corpus, the bundled task's k and floor).
const offTopicFit = await offTopicHalves(squadCtx.corpus.retriever, 'help');
const folds = inSample ? new Map<number, AnswerModel>() : leaveArticleOut(judge(await retrieveAll(squadCtx.corpus.retriever, squad, 'help')), offTopicFit.fit);

const { key } = await squadCtx.createKey(['tasks:*']);
const outcomes: Outcome[] = [];
for (const [a, article] of squad.data.entries()) {
  offline.use(folds.get(a));
  for (const paragraph of article.paragraphs) {
    for (const qa of paragraph.qas) {
      const reply = await ask(squadCtx, key, qa.question);
      const answer = foldAnswer(reply.answer);
      const right = reply.answered && !qa.is_impossible && qa.answers.some((gold) => answer.includes(foldAnswer(gold.text)));
      outcomes.push({ type: questionKind(qa.question), answerable: !qa.is_impossible, answered: reply.answered, right, confidence: reply.confidence });
    }
  }
}
// Off-topic questions are asked with the shipped model; the odd rows, which no fit saw.
offline.use(undefined);
const squadCpuMs = [...offline.cpuMs];
const offTopic = banking77()
  .filter((_, i) => i % 2 === 1)
  .slice(0, offTopicLimit);
const offSquad = await offTopicAnswers(squadCtx, offTopic);
await squadCtx.close();

const shopCtx = await createTestContext({ corpusDir: join(REPO_ROOT, 'corpus'), tokensPerDay: 1e12, model: offline.provider });
const offShop = await offTopicAnswers(shopCtx, offTopic);
await shopCtx.close();
const newcomer = await askNewcomerQuestions(offline.provider);

function summary(set: readonly Outcome[]): { answerable: number; right: number; unanswerable: number; abstained: number; given: number; givenRight: number } {
  const answerable = set.filter((o) => o.answerable);
  const unanswerable = set.filter((o) => !o.answerable);
  const given = set.filter((o) => o.answered);
  return {
    answerable: answerable.length,
    right: answerable.filter((o) => o.right).length,
    unanswerable: unanswerable.length,
    abstained: unanswerable.filter((o) => !o.answered).length,
    given: given.length,
    givenRight: given.filter((o) => o.right).length,
  };
}

const all = summary(outcomes);
console.log(`SQuAD v2 ${file.split('/').pop()}: ${outcomes.length} questions (${all.answerable} answerable, ${all.unanswerable} unanswerable)`);
console.log(inSample ? 'answer model: the shipped one, fitted on these questions (in sample)\n' : 'answer model: fitted without the article asked about (out of fold)\n');
console.log(`answerable answered with the gold text   ${pct(all.right, all.answerable)}`);
console.log(`unanswerable abstained on                ${pct(all.abstained, all.unanswerable)}`);
console.log(`precision of the answers given           ${pct(all.givenRight, all.given)}  (${all.givenRight} of ${all.given})`);
console.log(`banking77 answered, bundled corpus       ${pct(offShop.length, offTopic.length)}  (odd rows, ${offTopic.length} questions)`);
console.log(`banking77 answered, SQuAD corpus         ${pct(offSquad.length, offTopic.length)}`);
const newcomerRight = newcomer.filter((o) => o.right).length;
console.log(`newcomer questions, bundled corpus       ${newcomerRight} of ${newcomer.length} right, ${newcomer.filter((o) => o.answered).length} answered`);
const sortedCpu = [...squadCpuMs].sort((x, y) => x - y);
const quantile = (q: number): string => (sortedCpu[Math.floor(q * (sortedCpu.length - 1))] ?? 0).toFixed(3);
const meanCpu = sortedCpu.reduce((sum, ms) => sum + ms, 0) / Math.max(1, sortedCpu.length);
console.log(`provider CPU ms per SQuAD call           mean ${meanCpu.toFixed(3)}, p50 ${quantile(0.5)}, p95 ${quantile(0.95)} (${sortedCpu.length} calls)`);

// Calibration: among the answers with confidence in a bin, the share that is right; and the curve an answer threshold
// draws (answers below it would be abstentions).
const answered = outcomes.filter((o) => o.answered);
console.log('\ncalibration (answers given)\nconfidence   n      right');
for (let low = 0; low < 1; low = Math.round((low + 0.1) * 10) / 10) {
  const bin = answered.filter((o) => o.confidence >= low && (o.confidence < low + 0.1 || (low >= 0.9 && o.confidence <= 1)));
  console.log(`${low.toFixed(1)}-${(low + 0.1).toFixed(1)}      ${String(bin.length).padEnd(6)} ${pct(bin.filter((o) => o.right).length, bin.length)}`);
}
console.log('\nthreshold  answerable right  precision  unanswerable abstained  banking77 answered: bundled  SQuAD');
for (let threshold = 0; threshold <= 0.9; threshold = Math.round((threshold + 0.1) * 10) / 10) {
  const kept = outcomes.map((o) => ({ ...o, answered: o.answered && o.confidence >= threshold, right: o.right && o.confidence >= threshold }));
  const s = summary(kept);
  const offAbove = (confidences: readonly number[]): string => pct(confidences.filter((c) => c >= threshold).length, offTopic.length);
  console.log(`>= ${threshold.toFixed(1)}     ${pct(s.right, s.answerable)}            ${pct(s.givenRight, s.given)}     ${pct(s.abstained, s.unanswerable)}                  ${offAbove(offShop)}                      ${offAbove(offSquad)}`);
}

console.log('\nquestion type   n      answerable right  unanswerable abstained  precision');
const kinds = [...new Set(outcomes.map((o) => o.type))].sort();
for (const kind of kinds) {
  const s = summary(outcomes.filter((o) => o.type === kind));
  console.log(`${kind.padEnd(15)} ${String(s.answerable + s.unanswerable).padEnd(6)} ${pct(s.right, s.answerable)}             ${pct(s.abstained, s.unanswerable)}                 ${pct(s.givenRight, s.given)}`);
}
