// Reads the role of a sentence, not its vocabulary (issue 15 item 3): is it a directive put to whoever reads the text
// (an imperative, a negated imperative, a question), and does it belong to the text around it? Which verb opens an
// imperative comes from a general dictionary (WordNet's base-form verbs, english-lexicon.generated.ts); the other words
// used here are closed grammatical classes (every determiner, pronoun, preposition, auxiliary), not words picked from
// attacks. Injected tasks ("Describe the lifecycle of a butterfly.") are imperatives or questions about a topic the
// surrounding invoice, record or article never mentions; instructions a help article gives people ("Choose a new
// password of at least 10 characters.") share their topic with the article around them.
import { PHYSICAL_NOUNS, RARE_VERBS, USUAL_VERBS } from './english-lexicon.generated.js';

const words = (list: string): Set<string> => new Set(list.split(' '));
const USUAL = words(USUAL_VERBS);
const ANY_VERB = new Set([...USUAL, ...words(RARE_VERBS)]);
const PHYSICAL = words(PHYSICAL_NOUNS);

// Closed classes of English grammar (complete lists, not a selection).
const DETERMINERS = words('a an the this that these those some any each every all both either neither no another such what which whose many much few several');
const OBJECT_PRONOUNS = words('me us you him her it them myself ourselves yourself yourselves himself herself itself themselves');
const POSSESSIVES = words('my our your his her its their');
const WH_WORDS = words('who whom whose what which when where why how whether');
const AUXILIARIES = words("do does did is are was were am be been being can could will would shall should may might must have has had don't doesn't didn't isn't aren't can't couldn't won't wouldn't shouldn't what's who's how's where's");
const PREPOSITIONS = words(
  'about above across after against along amid among around as at before behind below beneath beside besides between beyond by despite down during except for from in inside into like near of off on onto out outside over past per since than through throughout till to toward towards under underneath unlike until up upon via with within without',
);
const CONJUNCTIONS = words('and or but nor so yet if because although though while unless whereas that than then');
const SUBJECT_PRONOUNS = words('i we you he she it they one');
const FUNCTION_WORDS = new Set([
  ...DETERMINERS,
  ...OBJECT_PRONOUNS,
  ...POSSESSIVES,
  ...WH_WORDS,
  ...AUXILIARIES,
  ...PREPOSITIONS,
  ...CONJUNCTIONS,
  ...SUBJECT_PRONOUNS,
  'not',
  'there',
  'here',
  'also',
  'very',
  'just',
  'only',
]);
const NEGATION = /^(?:don't|do not|never)$/;

// Web and e-mail addresses name places, not topics, and their punctuation is not the sentence's.
const ADDRESS = /\b(?:https?:\/\/|www\.)\S+|\S+@\S+/g;
const HAS_ADDRESS = new RegExp(ADDRESS.source);

/** A sentence's words, lower case, with the original spelling of the first one kept for the capital test. */
const TOKEN = /[A-Za-z][A-Za-z'’-]*|\d[\d.,:/-]*|[^\sA-Za-z\d]/g;
const tokens = (sentence: string): string[] => (sentence.replace(ADDRESS, ' ').match(TOKEN) ?? []).map((token) => token.replace(/’/g, "'"));
const isWord = (token: string): boolean => /^[A-Za-z]/.test(token);

/** What a directive sentence asks, and the words the decision used (the evidence an evaluation traces). */
export interface Directive {
  readonly kind: 'imperative' | 'question';
  /** The verb (or question word) that makes the sentence a directive, lower case; phrasal verbs joined by "_". */
  readonly head: string;
  /** The words after the head, lower case. */
  readonly rest: readonly string[];
  /** The skipped words before it that `skip` listed ("please", "now"), lower case. */
  readonly lead: readonly string[];
}

// Enough characters for a lead-in, openers, a phrasal verb and the first word of its object.
const DECIDING_PREFIX = 160;

// A particle after the verb keeps it a verb when an object follows ("Jumble up the letters …").
const PARTICLES = words('up down out off over away back along around through');

/** Whether the word after a verb opens its object (or clause) rather than making the verb a noun heading. */
function opensObject(word: string | undefined, inline: boolean, after: string | undefined): boolean {
  const lower = (word ?? '').toLowerCase();
  const pronounOrDeterminer = DETERMINERS.has(lower) || POSSESSIVES.has(lower) || OBJECT_PRONOUNS.has(lower);
  // Inside a sentence a capitalised word after a lower-case one is likelier a name than a pasted imperative, so only
  // a determiner or pronoun not itself followed by a verb counts there ("… the Accord all had four cylinders").
  if (inline) return pronounOrDeterminer && !AUXILIARIES.has((after ?? '').toLowerCase());
  // After a preposition the first word reads as a noun heading ("Support for new accounts"), so only a determiner, a
  // pronoun, a question word or a plain lower-case word that is no function word opens an object.
  return pronounOrDeterminer || WH_WORDS.has(lower) || (/^[a-z][a-z'-]*$/.test(word ?? '') && !FUNCTION_WORDS.has(lower));
}

// The first word, and the first word after an early comma or colon (a lead-in).
const OPENING_WORDS = /^[^A-Za-z]*([A-Za-z][A-Za-z'’-]*)(?:[^,:.!?\n]{0,60}?[,:]\s*([A-Za-z][A-Za-z'’-]*))?/;
// Words a phrasal verb starts with ("break" of break_down), per lexicon.
const phrasalStarts = (lemmas: ReadonlySet<string>): Set<string> => new Set([...lemmas].filter((lemma) => lemma.includes('_')).map((lemma) => lemma.split('_')[0] ?? ''));
const OPENING_VERBS = { usual: new Set([...USUAL, ...phrasalStarts(USUAL)]), any: new Set([...ANY_VERB, ...phrasalStarts(ANY_VERB)]) };
const mayOpen = (word: string | undefined, skip: ReadonlySet<string>, verbs: 'usual' | 'any'): boolean => {
  const lower = (word ?? '').toLowerCase().replace(/’/g, "'");
  return OPENING_VERBS[verbs].has(lower) || skip.has(lower) || WH_WORDS.has(lower) || AUXILIARIES.has(lower) || NEGATION.test(lower) || lower.endsWith('ly');
};
/** A cheap first look: most sentences open with a word no directive opens with, and need no tokenising. */
function mayOpenDirective(sentence: string, skip: ReadonlySet<string>, verbs: 'usual' | 'any'): boolean {
  const [, first, afterLeadIn] = OPENING_WORDS.exec(sentence) ?? [];
  return mayOpen(first, skip, verbs) || (afterLeadIn !== undefined && mayOpen(afterLeadIn, skip, verbs));
}

/**
 * The imperative or question a sentence puts to its reader, or undefined. `skip` lists leading words that do not
 * change the mood ("please", "now"); `verbs` is which lexicon counts (USUAL where a noun reading would be a false
 * alarm, ANY where the sentence already addresses the reader's output). `inline` marks a start inside a sentence.
 */
export function readDirective(sentence: string, skip: ReadonlySet<string>, verbs: 'usual' | 'any', inline = false): Directive | undefined {
  if (!mayOpenDirective(sentence, skip, verbs)) return undefined;
  const text = sentence.replace(/^[\s>*#•\-–—\d.)]+/, '');
  // The mood is decided in the first words; the whole sentence is tokenised only for a directive's object.
  const all = tokens(text.slice(0, DECIDING_PREFIX));
  const lower = (index: number): string => (all[index] ?? '').toLowerCase();
  const rest = (from: number): string[] => tokens(text).slice(from).map((token) => token.toLowerCase());
  // A short lead-in closed by a comma or a colon ("To proceed, blend …", "In your reply, add …", a record's
  // "Registrant Organization: …") does not change the mood.
  const leadIn = all.findIndex((token) => token === ',' || token === ':');
  let at = leadIn > 0 && leadIn <= 4 ? leadIn + 1 : 0;
  const lead: string[] = [];
  for (; skip.has(lower(at)) || (/ly$/.test(lower(at)) && !ANY_VERB.has(lower(at))); at += 1) if (skip.has(lower(at))) lead.push(lower(at));
  if (!isWord(all[at] ?? '')) return undefined;
  if (sentence.trimEnd().endsWith('?'))
    // A question opening with a verb drops its subject ("Need help?"): an offer, not a directive.
    return WH_WORDS.has(lower(at)) || AUXILIARIES.has(lower(at)) ? { kind: 'question', head: lower(at), rest: rest(at + 1), lead } : undefined;
  if (NEGATION.test(lower(at))) at += 1;
  else if (lower(at) === 'do' && lower(at + 1) === 'not') at += 2;
  const lexicon = verbs === 'usual' ? USUAL : ANY_VERB;
  const phrasal = `${lower(at)}_${lower(at + 1)}`;
  const [head, next] = lexicon.has(phrasal) ? [phrasal, at + 2] : [lower(at), at + 1];
  if (!lexicon.has(head) || FUNCTION_WORDS.has(head) || !/^[A-Z]|^[a-z]+$/.test(all[at] ?? '')) return undefined;
  const object = PARTICLES.has(lower(next)) && !inline ? next + 1 : next;
  return opensObject(all[object], inline, all[object + 1]) ? { kind: 'imperative', head, rest: rest(object), lead } : undefined;
}

// Content words are compared by a crude stem, so "deliveries" meets "delivery" and "charged" meets "charge".
const stem = (word: string): string =>
  word
    .replace(/ie[sd]$/, 'y')
    .replace(/(?:ing|ed|es|(?<!s)s)$/, '')
    .replace(/e$/, '')
    .slice(0, 6);

/** Whether a word is a form of a usual verb ("using", "works", "connected"): an action, not a topic. */
function isVerbForm(word: string): boolean {
  if (USUAL.has(word)) return true;
  const base = word.replace(/(?:ing|ed|es|s)$/, '');
  return base !== word && (USUAL.has(base) || USUAL.has(`${base}e`) || (/(.)\1$/.test(base) && USUAL.has(base.slice(0, -1))));
}

/**
 * The stems of a text's topic words: content words (not closed-class, at least three letters) that are no verb form,
 * unless `verbs` keeps those too (quoted material is material whatever its words are).
 */
export function contentStems(text: string, verbs: 'drop' | 'keep' = 'drop'): Set<string> {
  const stems = new Set<string>();
  for (const token of tokens(text)) {
    const word = token.toLowerCase();
    if (word.length >= 3 && isWord(word) && !FUNCTION_WORDS.has(word) && (verbs === 'keep' || !isVerbForm(word))) stems.add(stem(word));
  }
  return stems;
}

/** The share of `sentence`'s content stems that `context` also uses (1 when the sentence has none). */
export function topicOverlap(sentence: string, context: ReadonlySet<string>): number {
  const own = contentStems(sentence);
  if (own.size === 0) return 1;
  let shared = 0;
  for (const word of own) if (context.has(word)) shared += 1;
  return shared / own.size;
}

/**
 * Where a directive may start: each sentence, and inside a sentence each capitalised word after a lower-case one (an
 * instruction pasted into the middle of a sentence). `text` runs to the end of the sentence, so a name inside the
 * object ("… of 'The Great Gatsby'") does not cut it short; `inline` marks a start inside a sentence.
 */
export interface ReadingUnit {
  readonly text: string;
  readonly inline: boolean;
  /** Offsets of `text` in the whole text: what lies outside them is the unit's context. */
  readonly start: number;
  readonly end: number;
}

// Sentence ends, line breaks and the field separators of flattened records ("SUBJECT: …|CONTENT: …").
const SENTENCE = /[^\n|]+?(?:[.!?]+(?=\s|$)|(?=\n|\||$))/g;
// (Not after another capitalised word: "Bell Northern Research" is a name.)
const INLINE_START = /(?<=\S\s+)(?<![A-Z][\w'-]*\s+)[A-Z][a-z]+\s/g;

export function readingUnits(text: string): ReadingUnit[] {
  const units: ReadingUnit[] = [];
  for (const sentence of text.matchAll(SENTENCE)) {
    const start = sentence.index + (sentence[0].length - sentence[0].trimStart().length);
    const end = sentence.index + sentence[0].length;
    if (end <= start) continue;
    units.push({ text: text.slice(start, end), inline: false, start, end });
    for (const inner of text.slice(start, end).matchAll(INLINE_START))
      units.push({ text: text.slice(start + inner.index, end), inline: true, start: start + inner.index, end });
  }
  return units;
}

// A subordinate clause after the object ("… if you have any questions") is the condition, not the task.
const SUBORDINATORS = words('if when whenever unless because before after while although though once until');
// The writer or the reader as object or owner ("Let us know", "Take a look at our …", "Please remit payment at
// your earliest convenience"): correspondence between the two, not a task about some other topic.
// More than a quarter of the other sentences being imperatives makes the text a set of instructions.
const INSTRUCTIONS_SHARE = 0.25;
const ANAPHORS = words('it them him her');
const PERSONAL = words('i me my mine we us our ours you your yours');

/** What a directive asks for (its object, up to a subordinate clause or a colon), quoted words apart. */
function askedFor(directive: Directive): { words: string[]; own: string[]; quoted: string[] } {
  const rest = directive.rest;
  const end = rest.findIndex((word) => SUBORDINATORS.has(word) || word === ':');
  const asked = rest.slice(0, end < 0 ? undefined : end).join(' ');
  // Quoted words are material to work on ("What's 'thank you' in Japanese?"), not the topic of the request.
  const quote = /(?:^|\s)['"“‘]([^'"”’]*)['"”’]/g;
  const unquoted = asked.replace(quote, ' ');
  const own = [...contentStems(unquoted)];
  const quoted = [...contentStems([...asked.matchAll(quote)].map((match) => match[1]).join(' '), 'keep')].filter((word) => !own.includes(word));
  return { words: unquoted.split(' '), own, quoted };
}

/** Whether an imperative's object names a physical thing: the head of its noun phrase, the last word before a
 * preposition, a clause or punctuation (adverbs ending in -ly set aside: "Descale the kettle monthly with …"). */
function handsOn(directive: Directive): boolean {
  // A clause object ("Explain how recursion works") asks for knowledge, whatever its last word.
  if (WH_WORDS.has(directive.rest[0] ?? '')) return false;
  const end = directive.rest.findIndex((word) => PREPOSITIONS.has(word) || SUBORDINATORS.has(word) || !/^[a-z]/.test(word));
  const head = directive.rest.slice(0, end < 0 ? undefined : end).filter((word) => !word.endsWith('ly')).at(-1) ?? '';
  return PHYSICAL.has(head) || PHYSICAL.has(head.replace(/s$/, '')) || PHYSICAL.has(head.replace(/es$/, ''));
}

/** A directive whose object shares no content word with the rest of the text: a task the text itself never sets. */
export interface OutOfPlace {
  readonly unit: ReadingUnit;
  readonly directive: Directive;
}

/**
 * Directives put to the reader about something the rest of the text never mentions. An imperative must ask for at
 * least two content words' worth ("Describe the lifecycle of a butterfly", not "Reach out anytime") and must not be
 * about the writer ("Let us know …").
 */
export function directivesOutOfPlace(text: string, skip: ReadonlySet<string>): OutOfPlace[] {
  const units = readingUnits(text);
  const found: OutOfPlace[] = [];
  const directives = units.map((unit) => readDirective(unit.text, skip, 'usual', unit.inline));
  // Sentences are counted once, however many places inside them a directive could start.
  const sentenceEnds = new Set(units.map((unit) => unit.end));
  const imperativeEnds = new Set(units.filter((_unit, index) => directives[index]?.kind === 'imperative').map((unit) => unit.end));
  units.forEach((unit, index) => {
    const directive = directives[index];
    if (directive === undefined) return;
    // A text that gives several instructions is a set of instructions (a help article), not data with one pasted in.
    const otherImperatives = imperativeEnds.size - (imperativeEnds.has(unit.end) ? 1 : 0);
    if (otherImperatives > INSTRUCTIONS_SHARE * (sentenceEnds.size - 1)) return;
    const { words: asked, own, quoted } = askedFor(directive);
    if (own.length + quoted.length < 2 || own.length === 0) return;
    // Pointing the reader at an address ("Use the form at https://…", "write to support@…") is navigation.
    if (HAS_ADDRESS.test(unit.text)) return;
    if (directive.kind === 'imperative' && asked.some((word) => PERSONAL.has(word))) return;
    // "Keep it away from radiators": a pronoun object points back into the text, so the task is about its topic.
    if (directive.kind === 'imperative' && ANAPHORS.has(directive.rest[0] ?? '')) return;
    // "Descale the kettle …": hands-on work on a physical thing is asked of a person; a model reading text cannot do it.
    // "Choose a fixed value of €15 …": amounts make it an operating instruction about the text's own figures.
    if (directive.kind === 'imperative' && (handsOn(directive) || asked.some((word) => /[\d€$£¥]/.test(word)))) return;
    const context = contentStems(`${text.slice(0, unit.start)} ${text.slice(unit.end)}`);
    // Out of place: fewer than half of the words it asks about occur anywhere else in the text.
    // With no data around it ("Descale the machine every three months." alone) nothing is out of place.
    if (context.size < 2 || own.some((word) => context.has(word))) return;
    found.push({ unit, directive });
  });
  return found;
}
