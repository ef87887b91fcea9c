// Content terms for answer support: Porter stems plus the irregular forms Porter cannot reach ("wrote"/"written" meet
// "write", "men" meets "man"), so a question and the sentence that answers it meet on the same term (issue 16 item 1).
import { porterStem } from '../../retrieval/porter.js';

/** Function words and question scaffolding: they say how something is asked, not what about. */
const STOPWORDS = new Set(
  ('a an and are as at be been being but by can could do does did doing done for from had has have having he her hers him his how i if in ' +
    'into is it its itself may me might must my no nor not of on or our ours she should so than that the their theirs them then there ' +
    'these they this those to was we were what whatever when where which while who whom whose why will with would you your yours ' +
    'about after again all am any because before both each few more most other over own same some such too under until up very just ' +
    'also get got want need please tell know already still ever really actually anyone someone something one ones us i\'m it\'s ' +
    'there\'s didn\'t doesn\'t don\'t won\'t can\'t isn\'t wasn\'t aren\'t name named called kind type ' +
    // How a customer asks rather than what about: "When is customer support available?" is about support.
    'customer customers available').split(' '),
);

/** Irregular verb and noun forms, mapped to the form Porter stems like the regular ones. */
const IRREGULAR: Readonly<Record<string, string>> = Object.fromEntries(
  (
    'wrote:write written:write ground:grind began:begin begun:begin took:take taken:take made:make built:build fought:fight led:lead won:win ' +
    'held:hold gave:give given:give became:become came:come found:find left:leave brought:bring thought:think bought:buy sold:sell ' +
    'told:tell paid:pay knew:know known:know grew:grow grown:grow drew:draw drawn:draw chose:choose chosen:choose spoke:speak ' +
    'spoken:speak rose:rise risen:rise fell:fall fallen:fall ran:run met:meet sent:send spent:spend lost:lose kept:keep felt:feel ' +
    'taught:teach caught:catch saw:see seen:see went:go gone:go said:say stood:stand struck:strike broke:break broken:break ' +
    'froze:freeze frozen:freeze ate:eat eaten:eat drove:drive driven:drive rode:ride ridden:ride flew:fly flown:fly shook:shake ' +
    'shaken:shake forbade:forbid forbidden:forbid sought:seek laid:lay lain:lie lay:lie born:bear borne:bear bore:bear ' +
    'swore:swear sworn:swear wore:wear worn:wear tore:tear torn:tear hid:hide hidden:hide bit:bite bitten:bite sang:sing sung:sing ' +
    'sank:sink sunk:sink shot:shoot fed:feed fled:flee bred:breed slew:slay slain:slay overthrew:overthrow ' +
    'overthrown:overthrow threw:throw thrown:throw withdrew:withdraw withdrawn:withdraw undertook:undertake undertaken:undertake ' +
    'understood:understand overcame:overcome arose:arise arisen:arise awoke:awake woke:wake dealt:deal meant:mean heard:hear ' +
    'hung:hang lent:lend bent:bend sat:sit slid:slide stuck:stick swung:swing men:man women:woman ' +
    'children:child feet:foot teeth:tooth mice:mouse geese:goose people:person wives:wife halves:half ' +
    'criteria:criterion phenomena:phenomenon bacteria:bacterium larger:large largest:large bigger:big ' +
    'biggest:big better:good best:good worse:bad worst:bad greater:great greatest:great smaller:small smallest:small ' +
    'longer:long longest:long older:old oldest:old higher:high highest:high lower:low lowest:low earlier:early earliest:early'
  )
    .split(' ')
    .map((pair) => pair.split(':') as [string, string]),
);

const foldDiacritics = (text: string): string => (/[^\u0000-\u007f]/.test(text) ? text.normalize('NFKD').replace(/\p{M}/gu, '') : text);

/** A word carries content unless it is a function word or a lone letter. */
const carriesContent = (word: string): boolean => !STOPWORDS.has(word) && (word.length > 1 || /\d/.test(word));

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)?/gu;
const dropPossessive = (word: string): string => word.replace(/['’]s$/u, '');

/** Lower-cased word tokens, diacritics folded; a possessive 's is dropped ("Normandy's" is "normandy"). */
export const wordsOf = (text: string): string[] =>
  (foldDiacritics(text.normalize('NFKC')).toLowerCase().match(WORD) ?? []).map(dropPossessive);

export interface Word {
  /** As written (diacritics folded), for case: a capitalised word inside a sentence is a name. */
  readonly raw: string;
  readonly lower: string;
  /** Its content term, or undefined for a function word. */
  readonly term: string | undefined;
}

/** Every word of a text in order, with its case kept and its content term (if it carries content). */
export const wordTermsOf = (text: string): Word[] =>
  (foldDiacritics(text.normalize('NFKC')).match(WORD) ?? []).map((raw) => {
    const lower = dropPossessive(raw.toLowerCase());
    return { raw, lower, term: carriesContent(lower) ? termOf(lower) : undefined };
  });

/** Stems already computed: a call stems every word of five chunks, mostly the same words as the call before. */
const stems = new Map<string, string>();
/** Bounded so that arbitrary caller text cannot grow it without limit; refilled from empty when full. */
const MAX_CACHED_STEMS = 50_000;

/** The term one word counts as: its regular form when irregular, then Porter's stem. */
export function termOf(word: string): string {
  const lower = word.toLowerCase();
  const cached = stems.get(lower);
  if (cached !== undefined) return cached;
  if (stems.size >= MAX_CACHED_STEMS) stems.clear();
  const term = porterStem(IRREGULAR[lower] ?? lower);
  stems.set(lower, term);
  return term;
}

/** Words that negate a following participle ("have not opened"). */
const VERB_NEGATIONS = /^(?:not|never|cannot|\w+n['’]t)$/u;
const NEGATIONS = /^(?:no|nor|neither|without)$/u;

/** "not", "never", "no", "without" or a contracted "n't". */
export const isNegation = (word: string): boolean => VERB_NEGATIONS.test(word) || NEGATIONS.test(word);

/**
 * Content terms of a text, in order, repeats kept. A negated participle reads as its un- form ("have not opened" is
 * "unopened"), so the question meets the sentence about unopened coffee rather than the one about opened coffee.
 */
export function contentTermsOf(text: string): string[] {
  const words = wordsOf(text);
  const terms: string[] = [];
  for (let i = 0; i < words.length; i += 1) {
    const word = words[i] ?? '';
    const next = words[i + 1] ?? '';
    if (VERB_NEGATIONS.test(word) && /(?:ed|en)$/u.test(next)) {
      terms.push(termOf(`un${next}`));
      i += 1;
    } else if (carriesContent(word)) {
      terms.push(termOf(word));
    }
  }
  return terms;
}
