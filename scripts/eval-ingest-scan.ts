// Measures the ingest injection scan: catch rate on BIPIA emails with inserted attacks, false flags on clean text (PI-6).
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chunkText, DEFAULT_CHUNKING } from '../src/retrieval/chunking.js';
import { scanChunks } from '../src/retrieval/injection-scan.js';
import { normaliseCorpusText } from '../src/retrieval/text.js';

import { EVALDATA } from './evaldata.js';
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

class Tally {
  private readonly counts = new Map<string, { hit: number; total: number }>();
  add(key: string, hit: boolean): void {
    const entry = this.counts.get(key) ?? { hit: 0, total: 0 };
    entry.hit += hit ? 1 : 0;
    entry.total += 1;
    this.counts.set(key, entry);
  }
  print(title: string): void {
    console.log(`\n${title}`);
    for (const [key, { hit, total }] of this.counts) {
      console.log(`  ${key.padEnd(44)} ${(hit / total).toFixed(3)}  (${hit}/${total})`);
    }
  }
}

const contexts = ['bipia/email/train.jsonl', 'bipia/email/test.jsonl'].flatMap((path) =>
  readJsonl(path).map((row) => String(row['context'])),
);
const attackSets: [string, Record<string, string[]>][] = [
  ['text', readJson('bipia/text_attack_train.json') as Record<string, string[]>],
  ['code', readJson('bipia/code_attack_train.json') as Record<string, string[]>],
];

const catchBySource = new Tally();
const catchByCategory = new Tally();
const catchByPosition = new Tally();
const reasonCounts = new Map<string, number>();
for (const [kind, attacks] of attackSets) {
  for (const [category, strings] of Object.entries(attacks)) {
    for (const attack of strings) {
      for (const position of ['start', 'middle', 'end'] as const) {
        for (const context of contexts) {
          const reasons = reasonsFor(insertAt(context, attack, position));
          const hit = reasons.length > 0;
          catchBySource.add(`bipia email + ${kind}_attack_train`, hit);
          catchByCategory.add(`${kind}: ${category}`, hit);
          catchByPosition.add(`${kind}: ${position}`, hit);
          for (const reason of reasons) reasonCounts.set(reason, (reasonCounts.get(reason) ?? 0) + 1);
        }
      }
    }
  }
}

const falseFlags = new Tally();
const falseReasons = new Map<string, number>();
const clean = (source: string, texts: readonly string[]): void => {
  for (const text of texts) {
    const reasons = reasonsFor(text);
    falseFlags.add(source, reasons.length > 0);
    for (const reason of reasons) falseReasons.set(`${source}: ${reason}`, (falseReasons.get(`${source}: ${reason}`) ?? 0) + 1);
  }
};
const squad = readJson('squad-v2/dev-v2.0-part-a.json') as { data: { paragraphs: { context: string }[] }[] };
clean('squad-v2 paragraphs', squad.data.flatMap((article) => article.paragraphs.map((p) => p.context)));
clean('bipia email contexts (clean)', contexts);
const notInject = readdirSync(join(EVALDATA, 'notinject'))
  .filter((file) => file.endsWith('.json'))
  .flatMap((file) => (readJson(join('notinject', file)) as { prompt: string }[]).map((row) => row.prompt));
clean('notinject prompts', notInject);

catchBySource.print('Catch rate (document quarantined), per source');
catchByPosition.print('Catch rate per position');
catchByCategory.print('Catch rate per attack category');
falseFlags.print('False-flag rate on clean text, per source');
console.log('\nReasons on attacked documents:', Object.fromEntries(reasonCounts));
console.log('Reasons on clean documents:', Object.fromEntries(falseReasons));
