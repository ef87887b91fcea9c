// Answerable units of a chunk (issue 16 item 4): prose sentences split where a sentence really ends (not after "c.",
// "e.g.", "U.S.", an initial or inside a decimal), markdown list items, a list of short items read as one unit under its
// heading ("Accepted methods: iDEAL; PayPal; …"), table rows read with their column headers. Chunk text may or may not have
// kept its line breaks (the chunker joins block lines with spaces), so headings and bullets are also found inline.

export interface Passage {
  /** The unit's own words: what it is scored on. */
  readonly text: string;
  /** The unit as answered: a list item is read under its heading ("What is not covered: Limescale damage …"). */
  readonly answer: string;
  /** The heading the unit sits under, if any: context for support. */
  readonly heading: string;
  /** Its links' texts: they name another page ("see Order tracking"), so they are context for support, not content. */
  readonly links: readonly string[];
  /** A numbered list read whole: it answers "how do I …", not a question asking for one span (a date, a number). */
  readonly procedure: boolean;
}

/** Words that end with a period without ending the sentence (lower-cased, without the period). */
const ABBREVIATIONS = new Set(
  ('c ca cf e.g i.e etc vs v approx est no nos fig figs al mr mrs ms dr prof st jr sr gen col lt capt sgt rev hon gov pres sen rep ' +
    'mt ft jan feb mar apr jun jul aug sep sept oct nov dec vol pp p ed eds op viz resp inc corp ltd co dept univ min max avg incl ' +
    'excl approx nr tel').split(' '),
);

/** A sentence may end at . ! ? (plus closing quotes/brackets) before whitespace and a capital, digit or opening quote. */
const SENTENCE_BREAK = /(?<=[.!?]["'”’)\]]*)\s+(?=["'“‘(\[]?[\p{Lu}\p{N}])/gu;

/** True when the text before a period is an abbreviation, an initial ("J.") or a dotted acronym ("U.S."). */
function endsWithAbbreviation(before: string): boolean {
  const word = /(\S+)\.["'”’)\]]*$/u.exec(before)?.[1];
  if (word === undefined) return false;
  const bare = word.replace(/^["'“‘(\[]+/u, '');
  if (/^\p{L}$/u.test(bare)) return true;
  if (/^(?:\p{L}\.)+\p{L}$/u.test(bare)) return true;
  return ABBREVIATIONS.has(bare.toLowerCase());
}

/** Prose split into sentences; a break after an abbreviation or initial is no break. */
export function splitProse(text: string): string[] {
  const sentences: string[] = [];
  let start = 0;
  for (const match of text.matchAll(SENTENCE_BREAK)) {
    const end = match.index;
    if (endsWithAbbreviation(text.slice(start, end))) continue;
    sentences.push(text.slice(start, end));
    start = end + match[0].length;
  }
  sentences.push(text.slice(start));
  return sentences.map((sentence) => sentence.trim()).filter((sentence) => sentence !== '');
}

const TABLE_SEPARATOR_ROW = /^[\s|:-]*$/;

/** A markdown table's data rows, each read with its column headers ("Germany — Carrier: DHL; Shipping cost: €6.90"). */
function tableRows(text: string): string[] {
  const rows = text
    .split(/\|\s*\n?\s*\|/u)
    .map((row) => row.replace(/^\s*\||\|\s*$/g, '').trim())
    .filter((row) => row.length > 0);
  const cells = (row: string): string[] => row.split('|').map((cell) => cell.trim());
  const [header, ...body] = rows;
  const headers = header === undefined ? [] : cells(header);
  return body
    .filter((row) => !TABLE_SEPARATOR_ROW.test(row))
    .map((row) => {
      const [first, ...rest] = cells(row);
      return `${first ?? ''} — ${rest.map((value, i) => `${headers[i + 1] ?? ''}: ${value}`).join('; ')}`;
    });
}

const MARKDOWN_LINK = /\[([^\]]*)\]\([^)]*\)/g;

/** Emphasis, code marks and link targets are presentation; the reader sees the link text. */
const plain = (text: string): string =>
  text
    .replace(MARKDOWN_LINK, '$1')
    .replace(/\*\*|__|[*`]/g, '')
    .replace(/\s+/g, ' ')
    .trim();

/** A unit of `raw` markdown under `heading`: its plain text, its links' texts, and its heading as the answer's lead-in when `labelled`. */
function passage(raw: string, heading: string, labelled = false, procedure = false): Passage {
  const text = plain(raw);
  const links = [...raw.matchAll(MARKDOWN_LINK)].map((link) => plain(link[1] ?? '')).filter((link) => link !== '');
  // An item read alone loses what its heading says of it ("not covered", "steps"); an item that repeats it needs no lead-in.
  const label = labelled && heading !== '' && !text.toLowerCase().includes(heading.toLowerCase());
  return { text, answer: label ? `${heading}: ${text}` : text, heading, links, procedure };
}

// A heading marker at a line start or inline; a bullet ("- ", "* ", "+ ", "• ") or a numbered item ("1. ", "2) ") that
// opens a line, follows a sentence end or a heading, and is followed by something that can start an item (a capital,
// a digit, a quote, or a brand written like "iDEAL").
const HEADING = /(?:^|\s)#{1,6}\s+/u;
const BULLET = /(?:^|\s)[-*+•]\s+(?=[\p{Lu}\p{N}"'“€$£*\[(]|\p{Ll}+\p{Lu})|(?:^|(?<=[.!?:]\s*)|\s(?=\d{1,2}[.)]\s+\p{Lu}))\s*\d{1,2}[.)]\s+(?=\p{Lu})/u;
/** Every bullet or step number of a section (split and matchAll take their own copy of a global pattern's state). */
const BULLETS = new RegExp(BULLET.source, 'gu');

/** Capitalised, these open a sentence rather than continue a heading or a list item. */
const SENTENCE_OPENERS = new Set('a all an any as at do don\'t each every few for from how if in it its many most never no our please some the these this those to we what when where which while you your'.split(' '));

const opensSentence = (word: string, next: string): boolean =>
  /^["'“(]?\p{Lu}/u.test(word) && (SENTENCE_OPENERS.has(word.toLowerCase()) || /^\p{Ll}/u.test(next));

/** A sentence end inside a run of words: a heading never holds one. */
const HOLDS_SENTENCE_END = /[.!?]["'”’)\]]*(?:\s|$)/u;

/**
 * A heading runs to its question mark, or until a bullet or the first capitalised word that opens a sentence (a function word, or a capital
 * followed by a lower-case word): "Failed payments If a payment fails…" is the heading "Failed payments" and the
 * sentence "If a payment fails…". A heading that would run past a sentence end ("Pause Choose **Pause** to stop
 * deliveries…") ends at its first capitalised word instead, as an imperative sentence starts there.
 */
function splitHeading(text: string): { heading: string; rest: string } {
  // A heading asked as a question ("Do I need an account?") ends at its question mark.
  const asked = /^[^.!?]{1,120}\?(?=\s+["'“(]?\p{Lu})/u.exec(text);
  if (asked !== null) return { heading: asked[0], rest: text.slice(asked[0].length) };
  const bullet = BULLET.exec(text);
  const end = bullet === null ? text.length : bullet.index;
  const words = text.slice(0, end).split(/\s+/u);
  const split = (i: number): { heading: string; rest: string } => ({ heading: words.slice(0, i).join(' '), rest: `${words.slice(i).join(' ')}${text.slice(end)}` });
  const opener = words.findIndex((word, i) => i > 0 && opensSentence(word, words[i + 1] ?? ''));
  const heading = words.slice(0, opener < 0 ? words.length : opener).join(' ');
  if (HOLDS_SENTENCE_END.test(heading)) {
    const capital = words.findIndex((word, i) => i > 0 && /^["'“(*_\[]*\p{Lu}/u.test(word));
    if (capital > 0) return split(capital);
  }
  return opener < 0 ? { heading: words.join(' '), rest: text.slice(end) } : split(opener);
}

/**
 * A list item ends at its first sentence break, or where prose resumes without one: a capitalised function word followed
 * by a lower-case word ("… Apple Pay and Google Pay We do not accept cash").
 */
function splitItem(item: string): { item: string; after: string } {
  const [first = '', ...after] = splitProse(item);
  const words = first.split(/\s+/u);
  for (let i = 1; i < words.length - 1; i += 1) {
    const word = (words[i] ?? '').replace(/^["'“(]/u, '');
    if (/^\p{Lu}/u.test(word) && SENTENCE_OPENERS.has(word.toLowerCase()) && /^\p{Ll}/u.test(words[i + 1] ?? '')) {
      return { item: words.slice(0, i).join(' '), after: [words.slice(i).join(' '), ...after].join(' ') };
    }
  }
  return { item: first, after: after.join(' ') };
}

const wordCount = (text: string): number => text.split(/\s+/u).filter((word) => word !== '').length;

/** Fewer words than this is a label or fragment, not an answer on its own. */
const MIN_WORDS = 4;

/**
 * One heading's section: prose sentences, list items (each read under the heading), and the list as a whole when its
 * items are fragments or numbered steps (a procedure is answered with all of its steps).
 */
function sectionPassages(body: string, heading: string): Passage[] {
  const passages: Passage[] = [];
  const [lead = '', ...items] = body.split(BULLETS);
  const numbered = items.length > 0 && [...body.matchAll(BULLETS)].every((match) => /\d/u.test(match[0]));
  const pushProse = (text: string): void => {
    for (const sentence of splitProse(text)) passages.push(passage(sentence, heading));
  };
  pushProse(lead);
  // Prose after the last item belongs to the section, not to the item: the item ends at its first sentence break.
  const itemTexts: string[] = [];
  for (const item of items) {
    const split = splitItem(item);
    if (plain(split.item) !== '') itemTexts.push(split.item);
    passages.push(passage(split.item, heading, true));
    pushProse(split.after);
  }
  if (itemTexts.length >= 2 && (numbered || itemTexts.some((item) => wordCount(plain(item)) < MIN_WORDS))) {
    const list = itemTexts.map((item) => item.trim().replace(/[.;]$/u, '')).join('; ');
    passages.push(passage(heading === '' ? list : `${heading}: ${list}`, heading, false, numbered));
  }
  return passages;
}

/** Headed sections of markdown prose (headings may be inline) as passages. */
function headedPassages(text: string): Passage[] {
  const [before = '', ...sections] = text.split(new RegExp(HEADING.source, 'gu'));
  return [
    ...sectionPassages(before, ''),
    ...sections.flatMap((section) => {
      const { heading, rest } = splitHeading(section);
      return sectionPassages(rest, plain(heading));
    }),
  ];
}

/** The answerable units of a chunk's text, in reading order. */
export function passagesOf(text: string): Passage[] {
  // A line that starts in lower case continues the line before (a PDF's text layer keeps its wrapped lines); table rows
  // stay on one line with their table; any other line break separates units.
  const unwrapped = text.replace(/\s*\n\s*(?=\p{Ll})/gu, ' ');
  const passages = unwrapped.split(/\n+(?!\s*\|)/u).flatMap((line) => {
    const tableStart = (line.match(/\|/g)?.length ?? 0) >= 3 ? line.indexOf('|') : -1;
    if (tableStart < 0) return headedPassages(line);
    const tableEnd = line.lastIndexOf('|') + 1;
    return [
      ...headedPassages(line.slice(0, tableStart)),
      ...tableRows(line.slice(tableStart, tableEnd)).map((row) => passage(row, '')),
      ...headedPassages(line.slice(tableEnd)),
    ];
  });
  return passages.filter((passage) => wordCount(passage.text) >= MIN_WORDS);
}
