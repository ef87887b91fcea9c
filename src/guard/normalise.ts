// Text normalisation that runs before every detector and before prompt datamarking (LLM01-4, PI-3):
// NFKC, removal of invisible/bidi/tag characters, and collapse of Latin look-alikes inside mixed-script words.

// Zero-width and joiner characters, soft hyphen, BiDi embeddings/overrides/isolates, the BOM, variation selectors and
// Unicode tag characters (U+E0000–E007F, "ASCII smuggling").
const INVISIBLE =
  /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0]|[\u{E0000}-\u{E007F}]|[\u{E0100}-\u{E01EF}]/gu;

/**
 * Look-alike → ASCII letter. The ASCII-target rows of Unicode's UTS #39 `intentional.txt` (as stored in
 * garak/badchars), plus the Cyrillic capitals and Latin-extended letters most used for homoglyph smuggling.
 */
const CONFUSABLES: Readonly<Record<string, string>> = {
  '\u01C3': '!', '\u0391': 'A', '\u0392': 'B', '\u0421': 'C', '\u0395': 'E', '\u0397': 'H', '\u0399': 'I', '\u0408': 'J',
  '\u039A': 'K', '\u039C': 'M', '\u039D': 'N', '\u039F': 'O', '\u03A1': 'P', '\u0405': 'S', '\u03A4': 'T', '\u03A7': 'X',
  '\u03A5': 'Y', '\u0396': 'Z', '\u0430': 'a', '\u0441': 'c', '\u0501': 'd', '\u0435': 'e', '\u04BB': 'h', '\u0456': 'i',
  '\u03F3': 'j', '\u03BF': 'o', '\u0440': 'p', '\u0455': 's', '\u0445': 'x', '\u0443': 'y',
  '\u0410': 'A', '\u0412': 'B', '\u0415': 'E', '\u041A': 'K', '\u041C': 'M', '\u041D': 'H', '\u041E': 'O', '\u0420': 'P',
  '\u0422': 'T', '\u0425': 'X', '\u043E': 'o', '\u0458': 'j', '\u0251': 'a', '\u0131': 'i', '\u0261': 'g', '\u03B1': 'a',
  '\u03B9': 'i', '\u03BD': 'v', '\u0475': 'v', '\u051B': 'q', '\u051D': 'w',
};
const CONFUSABLE_CLASS = new RegExp(`[${Object.keys(CONFUSABLES).join('')}]`, 'u');
const WORD = /[\p{L}\p{M}]+/gu;
const ASCII_LETTER = /[A-Za-z]/;
// Every character the pipeline changes (NFKC decompositions, invisibles, look-alikes) lies outside ASCII, so pure
// ASCII text, most of what passes through here, is already in normal form.
const NON_ASCII = /[^\x00-\x7F]/;

// Invisible characters that hide text rather than shape it: any Unicode tag character (ASCII smuggling), a BiDi
// override (LRO/RLO: the displayed order of a word is not its order) and runs of three or more zero-width characters
// (binary-encoded payloads). A lone zero-width space, joiner or left-to-right mark is ordinary in real text
// (encyclopaedia paragraphs, e-mails with right-to-left names, emoji sequences) and is only normalised away.
const HIDING = /[\u{E0000}-\u{E007F}]+|[\u202D\u202E]|[\u200B-\u200D\u2060-\u2064\uFEFF\u180E]{3,}/gu;

/** Code units of invisible characters that hide text (see HIDING); 0 for ordinary invisibles. */
export const hidingInvisibles = (text: string): number => [...text.matchAll(HIDING)].reduce((sum, [run]) => sum + run.length, 0);

/** Strips invisible, BiDi-control and tag characters only (no NFKC). */
export const stripInvisible = (text: string): string => text.replace(INVISIBLE, '');

/**
 * Maps look-alikes to ASCII only inside words that already contain an ASCII letter ("jаilbreаk" with a Cyrillic а),
 * so that ordinary Greek or Cyrillic prose is left alone: the UTS #39 mixed-script idea, without a full script table.
 */
export function collapseConfusables(text: string): string {
  // Only words holding a look-alike change, so text without one is returned as is, without a callback per word.
  if (!CONFUSABLE_CLASS.test(text)) return text;
  return text.replace(WORD, (word) =>
    ASCII_LETTER.test(word) && CONFUSABLE_CLASS.test(word)
      ? Array.from(word, (char) => CONFUSABLES[char] ?? char).join('')
      : word,
  );
}

/** The LLM01-4 pipeline: NFKC, then invisible removal, then confusable collapse. Idempotent. */
export function normaliseText(text: string): string {
  if (!NON_ASCII.test(text)) return text;
  return collapseConfusables(stripInvisible(text.normalize('NFKC')));
}
