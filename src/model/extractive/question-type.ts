// What kind of span a question asks for (issue 16 item 1): who → a name, when / what year → a date or time, how many /
// how much → a number or amount, where → a place, how do I → an instruction ("Choose Cancel subscription and confirm.").
// A sentence that holds no such span, new to the question, cannot answer it.
import { termOf, wordsOf, type Word } from './terms.js';

export type AnswerKind = 'person' | 'date' | 'number' | 'place' | 'procedure' | 'any';

export interface QuestionType {
  readonly kind: AnswerKind;
  /** Terms that name the kind asked for ("year", "many", "country"): the answer replaces them, the sentence need not hold them. */
  readonly focusTerms: ReadonlySet<string>;
}

const DATE_NOUNS = 'year|years|decade|century|centuries|date|month|day|days|time|period|era|age|season|hour|week';
const NUMBER_NOUNS = 'percentage|percent|proportion|number|amount|size|population|total|sum|price|cost|fee|rate|share|length|distance|height|weight|temperature|speed';
const PLACE_NOUNS = 'country|countries|city|cities|town|region|state|continent|place|river|island|area|location|province|county|nation|port|capital|village|site';

/** Between the wh-word and the noun of the kind: "what year", "what is the population", "what is your phone number". */
const MODIFIERS = '(?: (?:is|was|are|were))?(?: (?:the|a|an|your|its|their|his|her|our))?(?: \\w+)?';

const RULES: ReadonlyArray<{ readonly kind: AnswerKind; readonly pattern: RegExp }> = [
  { kind: 'number', pattern: /\bhow (?:many|much|long|old|far|large|big|high|tall|deep|wide|often|fast|heavy)\b/i },
  { kind: 'number', pattern: new RegExp(`\\b(?:what|which)${MODIFIERS} (?:${NUMBER_NOUNS})\\b`, 'i') },
  { kind: 'date', pattern: new RegExp(`\\b(?:what|which)${MODIFIERS} (?:${DATE_NOUNS})\\b|^\\s*when\\b|\\bwhen (?:is|was|were|did|does|do|will|can|are|had|has)\\b`, 'i') },
  { kind: 'procedure', pattern: /^\s*how (?:do|can|should|could|would|may) (?:i|we)\b|^\s*how to\b/i },
  { kind: 'person', pattern: /\bwho(?:m|se)?\b/i },
  { kind: 'place', pattern: new RegExp(`\\bwhere\\b|\\b(?:what|which)${MODIFIERS} (?:${PLACE_NOUNS})\\b`, 'i') },
];

const FOCUS_WORDS = new Set(
  `${DATE_NOUNS}|${NUMBER_NOUNS}|${PLACE_NOUNS}|many|much|long|old|far|often|person|people|man|woman|group|individual`.split('|').map(termOf),
);

/** "How long does it take …": the verb frames the duration asked for, the answer need not repeat it. */
const DURATION_FRAME = /\bhow long\b.*\btak(?:e|es|en)\b/i;

export function questionTypeOf(question: string): QuestionType {
  const kind = RULES.find((rule) => rule.pattern.test(question))?.kind ?? 'any';
  const isFocus = (term: string): boolean => FOCUS_WORDS.has(term) || (term === termOf('take') && DURATION_FRAME.test(question));
  const focusTerms = kind === 'any' ? new Set<string>() : new Set(wordsOf(question).map(termOf).filter(isFocus));
  return { kind, focusTerms };
}

const MONTHS = 'january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec';
const WEEKDAYS = '(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?|weekdays?|weekends?';
const NUMBER_WORDS =
  'one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|hundreds|thousand|thousands|million|millions|billion|billions|trillion|dozen|dozens|half|twice|once|several|single|double|triple';

const DATE_WORD = new RegExp(`^(?:\\d{3,4}s?|\\d{1,2}(?:st|nd|rd|th)|${MONTHS}|${WEEKDAYS}|centur(?:y|ies)|decades?|bc|ad|bce|ce|today|yesterday|tomorrow|daily|weekly|monthly|annually|immediately|ago)$`, 'u');
const TIME_UNIT = /^(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?|centur(?:y|ies)|business|working|calendar)$/u;
const NUMBER_WORD = new RegExp(`^(?:\\d[\\d,.]*\\w*|${NUMBER_WORDS}|percent|free)$`, 'u');

// An instruction opens with an imperative verb followed by what it acts on ("Choose Cancel…", "Go to…", "Log in…",
// "Enter the…"), with "You can / you need to …", or with a purpose clause ("To change the address, open…").
const IMPERATIVE_OBJECT = /^(?:the|a|an|your|our|this|that|these|those|it|them|us|me|one|to|in|on|up|out|off|\d.*)$/u;
const NOT_IMPERATIVE = new Set('a an the this that these those it its our your their we you they he she there here if when while as after before all each every some any no many most one'.split(' '));
const MODALS = new Set('can could may must should need will'.split(' '));

function isInstruction(words: readonly Word[]): boolean {
  const [first, second] = words;
  if (first === undefined || second === undefined || !/^\p{Lu}/u.test(first.raw)) return false;
  if (first.lower === 'you') return MODALS.has(second.lower);
  if (first.lower === 'to') return true;
  // A gerund opens a statement ("Resetting your password unlocks it"), not an instruction.
  return !NOT_IMPERATIVE.has(first.lower) && !first.lower.endsWith('ing') && (IMPERATIVE_OBJECT.test(second.lower) || /^\p{Lu}/u.test(second.raw));
}

export interface TypedWord extends Word {
  /** The word is part of a span of the asked kind. */
  readonly typed: boolean;
}

/** Whether each word belongs to a span of `kind`: a date or duration, a number or amount, or a name (a capital inside the sentence). */
export function typedWordsOf(words: readonly Word[], kind: AnswerKind): TypedWord[] {
  // A list item's number opens it before a capitalised word ("5. Delivered – the carrier …"): it counts the steps, it
  // is not a quantity the sentence states, so "How long does delivery take?" is not answered by step 5.
  const enumerator = /^\d{1,2}$/u.test(words[0]?.raw ?? '') && /^\p{Lu}/u.test(words[1]?.raw ?? '');
  const isNumber = (i: number): boolean => !(i === 0 && enumerator) && NUMBER_WORD.test(words[i]?.lower ?? '');
  const instruction = kind === 'procedure' && isInstruction(words);
  const typed: boolean[] = [];
  const typedAt = (word: Word, i: number): boolean => {
    switch (kind) {
      case 'any':
        return false;
      case 'date':
        // "may" is a month only when capitalised inside the sentence.
        if (word.lower === 'may') return i > 0 && word.raw === 'May';
        // A year, a month, a weekday, a century; or a number and the time unit words after it ("3 business days").
        return DATE_WORD.test(word.lower) || (isNumber(i) && TIME_UNIT.test(words[i + 1]?.lower ?? '')) || (TIME_UNIT.test(word.lower) && (typed[i - 1] ?? false));
      case 'number':
        return isNumber(i);
      case 'procedure':
        // The instruction as a whole is the span, its verb may be the question's own ("Reset your password: Go to …").
        return instruction;
      case 'person':
      case 'place':
        // A capitalised weekday or month is a date, not a name.
        return /^\p{Lu}/u.test(word.raw) && (i > 0 || !/^\p{Lu}\p{Ll}+$/u.test(word.raw)) && !DATE_WORD.test(word.lower);
    }
  };
  words.forEach((word, i) => typed.push(typedAt(word, i)));
  return words.map((word, i) => ({ ...word, typed: typed[i] ?? false }));
}

/** True when the sentence's typed words hold a span of the asked kind that the question (its lower-cased words) does not state. */
export const holdsNewSpan = (words: readonly TypedWord[], asked: ReadonlySet<string>): boolean => words.some((word) => word.typed && !asked.has(word.lower));
