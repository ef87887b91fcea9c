// The built-in offline provider: deterministic, no network. It answers from the retrieved approved chunks
// (extractive), cites them and abstains when they do not cover the question. Its text goes through the same
// JSON parse and schema validation as a real model's.
import type { ModelClient, ModelRequest } from './types.js';
import type { RetrievedChunk } from '../retrieval/types.js';
import { passagesOf } from './extractive/sentences.js';
import { answerFromChunks, DEFAULT_GROUNDED_ANSWER_OPTIONS, type GroundedAnswerOptions } from './extractive/answer.js';
import type {
  ContentDraftInput,
  ContentDraftOutput,
  LeadClassifyInput,
  LeadClassifyOutput,
  SupportAnswerInput,
  SupportAnswerOutput,
} from '../contracts/tasks.js';

/** The grounded-answer options: candidate coverage floor and the calibrated answer threshold (src/model/extractive/answer.ts). */
export type OfflineModelOptions = GroundedAnswerOptions;

const STOPWORDS = new Set(
  ('a an and are as at be been but by can could do does did for from had has have how i if in into is it its may me my no not of on or ' +
    'our so than that the their them then there these they this to was we were what when where which who why will with would you your ' +
    'yours about after again all am any because before being both each few more most other over own same should some such too under until up ' +
    'very just also get got want need please tell know already still ever really actually anyone someone something').split(' '),
);

/** Lower-cased content words with a light suffix strip, so "refunds" meets "refund" and "shipping" meets "ship". */
export function contentTerms(text: string): string[] {
  const words = text.toLowerCase().normalize('NFKC').match(/[\p{L}\p{N}]+/gu) ?? [];
  return words.filter((word) => !STOPWORDS.has(word) && (word.length > 1 || /\d/.test(word))).map(stem);
}

function stem(word: string): string {
  if (word.length <= 4) return word;
  for (const suffix of ['ing', 'ed', 'es', 's']) {
    if (word.endsWith(suffix) && word.length - suffix.length >= 3) return word.slice(0, -suffix.length);
  }
  return word;
}

interface Sentence {
  readonly chunk: RetrievedChunk;
  readonly position: number;
  readonly text: string;
  readonly terms: ReadonlySet<string>;
}

/** The chunk's answerable units (sentences, list items, table rows), with their content terms. */
function sentencesOf(chunk: RetrievedChunk): Sentence[] {
  return passagesOf(chunk.text).map(({ text }, position) => ({ chunk, position, text, terms: new Set(contentTerms(text)) }));
}

function scoreSentences(questionTerms: readonly string[], sentences: readonly Sentence[]): Array<{ sentence: Sentence; coverage: number }> {
  const unique = [...new Set(questionTerms)];
  // Rare terms carry the question ("refund" matters more than "order" in a shop's help centre).
  const weight = new Map(
    unique.map((term) => {
      const df = sentences.filter((sentence) => sentence.terms.has(term)).length;
      return [term, 1 + Math.log((sentences.length + 1) / (df + 1))];
    }),
  );
  const total = unique.reduce((sum, term) => sum + (weight.get(term) ?? 0), 0);
  if (total === 0) return [];
  return sentences
    .map((sentence) => ({
      sentence,
      coverage: unique.reduce((sum, term) => sum + (sentence.terms.has(term) ? (weight.get(term) ?? 0) : 0), 0) / total,
    }))
    .sort((a, b) => b.coverage - a.coverage || b.sentence.chunk.score - a.sentence.chunk.score);
}

export function answerSupportQuestion(input: SupportAnswerInput, chunks: readonly RetrievedChunk[], options: OfflineModelOptions): SupportAnswerOutput {
  const { answer, citations, confidence, abstained } = answerFromChunks(input.question, chunks, options);
  return { answer, citations: [...citations], confidence, abstained };
}

type LeadCategory = LeadClassifyOutput['category'];

/** Transparent keyword rules; each rule that fires becomes a reason the caller can read. */
const LEAD_RULES: ReadonlyArray<{ category: LeadCategory; pattern: RegExp; reason: string }> = [
  { category: 'spam', pattern: /\b(seo services|backlinks?|crypto|casino|guest post|viagra|loan offer|click here)\b/i, reason: 'Message matches spam phrases' },
  { category: 'job_application', pattern: /\b(cv|resume|résumé|job|position|vacanc(?:y|ies)|apply|internship)\b/i, reason: 'Message asks about a job' },
  { category: 'partnership', pattern: /\b(partner(?:ship)?|reseller|wholesale|distribut\w*|stockist|collaborat\w*)\b/i, reason: 'Message proposes a partnership or wholesale deal' },
  { category: 'support', pattern: /\b(order|refund|return|broken|damaged|missing|tracking|cancel|subscription|delivery problem|complain\w*)\b/i, reason: 'Message is about an existing order or account' },
  { category: 'sales', pattern: /\b(pric\w*|quote|demo|office|team|employees|plan|buy|purchas\w*|interested|offer|bulk)\b/i, reason: 'Message shows buying interest' },
];

export function classifyLead(input: LeadClassifyInput): LeadClassifyOutput {
  const text = `${input.message} ${input.company ?? ''}`;
  const matched = LEAD_RULES.filter((rule) => rule.pattern.test(text));
  const category: LeadCategory = matched[0]?.category ?? 'other';
  const reasons = matched.map((rule) => rule.reason);
  let score = { sales: 60, partnership: 50, support: 30, job_application: 10, spam: 0, other: 25 }[category];
  if (category === 'sales') {
    if (input.company !== undefined) {
      score += 15;
      reasons.push('A company is named');
    }
    if (/\b\d{2,}\s*(people|employees|staff|desks|colleagues)\b/i.test(input.message)) {
      score += 15;
      reasons.push('Team size is stated');
    }
  }
  if (!input.consent) {
    score = Math.min(score, 20);
    reasons.push('No consent to be contacted: do not start outreach');
  }
  if (reasons.length === 0) reasons.push('No rule matched; left for a person to judge');
  const nextAction: LeadClassifyOutput['next_action'] = !input.consent
    ? 'nurture'
    : { sales: score >= 75 ? 'book_demo' : 'send_pricing', partnership: 'forward_to_partnerships', support: 'route_to_support', job_application: 'discard', spam: 'discard', other: 'nurture' }[category] as LeadClassifyOutput['next_action'];
  return { score: Math.max(0, Math.min(100, score)), category, next_action: nextAction, reasons: reasons.slice(0, 8) };
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] ?? char);

function truncateAtWord(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

export function draftContent(input: ContentDraftInput, chunks: readonly RetrievedChunk[]): ContentDraftOutput {
  const topic = input.topic.trim();
  const title = truncateAtWord(topic.charAt(0).toUpperCase() + topic.slice(1), 70);
  const terms = contentTerms(`${topic} ${input.keywords.join(' ')}`);
  const sections = chunks.slice(0, 4).map((chunk) => {
    const sentences = scoreSentences(terms, sentencesOf(chunk)).slice(0, 2).map((entry) => entry.sentence.text);
    return { chunk, sentences };
  }).filter((section) => section.sentences.length > 0);
  const intro = `This draft on ${topic} is written for ${input.audience}.`;
  const body = [
    `<p>${escapeHtml(intro)}</p>`,
    ...sections.map((section) => `<h2>${escapeHtml(section.chunk.title)}</h2><p>${escapeHtml(section.sentences.join(' '))}</p>`),
    input.keywords.length > 0 ? `<h2>Key points</h2><ul>${input.keywords.map((keyword) => `<li>${escapeHtml(keyword)}</li>`).join('')}</ul>` : '',
  ].join('');
  const outline = ['Introduction', ...sections.map((section) => section.chunk.title), ...(input.keywords.length > 0 ? ['Key points'] : [])];
  return {
    title,
    outline: outline.slice(0, 12).map((heading) => truncateAtWord(heading, 200)),
    body_html: body,
    meta_description: truncateAtWord(`${title}: ${sections[0]?.sentences[0] ?? intro}`, 160),
    citations: sections.map((section) => section.chunk.chunkId),
    status: 'draft',
  };
}

const approxTokens = (text: string): number => Math.ceil(text.length / 4);

export function createOfflineModel(options: OfflineModelOptions = DEFAULT_GROUNDED_ANSWER_OPTIONS): ModelClient {
  const answer = (request: ModelRequest): unknown => {
    switch (request.task) {
      case 'support.answer':
        return answerSupportQuestion(request.input as SupportAnswerInput, request.chunks, options);
      case 'lead.classify':
        return classifyLead(request.input as LeadClassifyInput);
      case 'content.draft':
        return draftContent(request.input as ContentDraftInput, request.chunks);
    }
  };
  return {
    provider: 'offline',
    modelName: 'airlock-extractive-1',
    async complete(request) {
      const text = JSON.stringify(answer(request));
      const promptTokens = approxTokens(request.system) + approxTokens(request.user);
      const completionTokens = approxTokens(text);
      return { text, usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens } };
    },
  };
}
