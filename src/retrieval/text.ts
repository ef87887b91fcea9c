// Corpus text extraction: PI-3 normalisation with a count of what was hidden, and HTML reduced to its visible text (LLM04-2).
import { Parser } from 'htmlparser2';
import { collapseConfusables, hidingInvisibles, stripInvisible } from '../guard/normalise.js';

export interface NormalisedText {
  readonly text: string;
  /** Invisible, BiDi-control and tag code units removed. */
  readonly invisibleRemoved: number;
  /** Of those, the code units that hid text (tag characters, BiDi overrides, zero-width runs): an ingest finding. */
  readonly hiddenByInvisibles: number;
}

/** NFKC, strip invisible/bidi/tag characters, fold mixed-script confusables, unify line endings. */
export function normaliseCorpusText(raw: string): NormalisedText {
  const nfkc = raw.normalize('NFKC');
  const visible = stripInvisible(nfkc);
  return {
    text: collapseConfusables(visible).replace(/\r\n?/g, '\n'),
    invisibleRemoved: nfkc.length - visible.length,
    hiddenByInvisibles: hidingInvisibles(nfkc),
  };
}

export interface ExtractedHtml {
  /** Visible text; headings become markdown `#` lines and list items `- ` lines, so chunking keeps the structure. */
  readonly text: string;
  /** Elements dropped because a reader would never see them (hidden attribute, display:none, zero size...). */
  readonly hiddenElements: number;
  /** The page's <title>, else its first heading; a default title for documents ingested without front matter. */
  readonly title: string | undefined;
}

const HIDDEN_STYLE =
  /(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?![.\d]*[1-9])|opacity\s*:\s*0(?![.\d]*[1-9])|(?:^|;)\s*(?:max-)?(?:height|width)\s*:\s*0(?![.\d]*[1-9]))/i;
const BLOCK_TAGS = new Set(['br', 'p', 'div', 'li', 'tr', 'section', 'article', 'pre', 'blockquote', 'table', 'ul', 'ol', 'dl', 'dt', 'dd', 'header', 'footer', 'main', 'nav', 'aside', 'figure', 'hr']);
const HEADING = /^h([1-6])$/;

const NON_TEXT_TAGS = new Set(['script', 'style', 'textarea', 'noscript', 'template', 'head', 'svg', 'iframe', 'object']);

const isHidden = (attribs: Readonly<Record<string, string>>): boolean =>
  'hidden' in attribs || attribs['aria-hidden'] === 'true' || HIDDEN_STYLE.test(attribs['style'] ?? '');

/**
 * Keeps only text a browser would show, parsed with htmlparser2. Hidden elements are dropped with everything inside them
 * (the white-on-white résumé of OWASP LLM08 scenario 1) and counted, so ingest can quarantine the document; scripts,
 * styles and the head never reach the text.
 */
export function htmlToText(html: string): ExtractedHtml {
  let hiddenElements = 0;
  const parts: string[] = [];
  const open: string[] = [];
  // Depth in `open` at which a dropped element starts; -1 while text is visible.
  let droppedFrom = -1;
  let title: string | undefined;
  let firstHeading: string | undefined;
  let heading: string[] | undefined;
  let inTitle = false;
  const parser = new Parser(
    {
      onopentag(name, attribs) {
        open.push(name);
        if (name === 'title') inTitle = true;
        if (droppedFrom !== -1) return;
        if (NON_TEXT_TAGS.has(name) || isHidden(attribs)) {
          droppedFrom = open.length - 1;
          if (!NON_TEXT_TAGS.has(name)) hiddenElements += 1;
          return;
        }
        const level = HEADING.exec(name)?.[1];
        if (level !== undefined) {
          parts.push(`\n\n${'#'.repeat(Number(level))} `);
          heading = [];
        } else if (name === 'li') parts.push('\n- ');
        else if (BLOCK_TAGS.has(name)) parts.push('\n');
      },
      ontext(text) {
        if (inTitle) title = `${title ?? ''}${text}`;
        if (droppedFrom !== -1) return;
        // Line breaks in the source are kept (markdown carrying inline HTML comes through here too); spaces are tidied below.
        parts.push(text);
        heading?.push(text);
      },
      onclosetag(name) {
        open.pop();
        if (name === 'title') inTitle = false;
        if (droppedFrom !== -1) {
          if (open.length <= droppedFrom) droppedFrom = -1;
          return;
        }
        if (HEADING.test(name)) {
          parts.push('\n\n');
          if (firstHeading === undefined && heading !== undefined) firstHeading = heading.join('').replace(/\s+/g, ' ').trim() || undefined;
          heading = undefined;
        } else if (BLOCK_TAGS.has(name)) parts.push('\n');
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
  // Block boundaries became line breaks so sentences from adjacent blocks do not merge; spacing is tidied per line.
  const text = parts
    .join('')
    .replace(/\u00A0/g, ' ')
    .split('\n')
    .map((line) => line.replace(/[ \t]+/g, ' ').trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  const titleText = title?.replace(/\s+/g, ' ').trim();
  return { text, hiddenElements, title: titleText === '' || titleText === undefined ? firstHeading : titleText };
}
