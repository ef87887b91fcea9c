// Corpus text extraction: PI-3 normalisation with a count of what was hidden, and HTML reduced to its visible text (LLM04-2).
import sanitizeHtml from 'sanitize-html';
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
  readonly text: string;
  /** Elements dropped because a reader would never see them (hidden attribute, display:none, zero size...). */
  readonly hiddenElements: number;
}

const HIDDEN_STYLE =
  /(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?![.\d]*[1-9])|opacity\s*:\s*0(?![.\d]*[1-9])|(?:^|;)\s*(?:max-)?(?:height|width)\s*:\s*0(?![.\d]*[1-9]))/i;
const BLOCK_TAGS = new Set(['br', 'p', 'div', 'li', 'tr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'section', 'article', 'pre', 'blockquote', 'table']);

const NON_TEXT_TAGS = new Set(['script', 'style', 'textarea', 'noscript', 'template', 'head', 'svg', 'iframe', 'object']);

const isHidden = (attribs: Readonly<Record<string, string>>): boolean =>
  'hidden' in attribs || attribs['aria-hidden'] === 'true' || HIDDEN_STYLE.test(attribs['style'] ?? '');

/**
 * Keeps only text a browser would show. Hidden elements are dropped with everything inside them
 * (the white-on-white résumé of OWASP LLM08 scenario 1) and counted, so ingest can quarantine the document.
 */
export function htmlToText(html: string): ExtractedHtml {
  let hiddenElements = 0;
  const marked = sanitizeHtml(html, {
    // Every tag passes the filter so hidden inline elements are seen too; tags are stripped below.
    allowedTags: false,
    allowedAttributes: {},
    // The output is plain text, never HTML, so letting script/style through the filter stage is safe: they are dropped here.
    allowVulnerableTags: true,
    exclusiveFilter: (frame) => {
      if (NON_TEXT_TAGS.has(frame.tag)) return true;
      if (!isHidden(frame.attribs)) return false;
      hiddenElements += 1;
      return true;
    },
  });
  // Block boundaries become line breaks so sentences from adjacent blocks do not merge; the rest is plain text.
  const text = marked
    .replace(/<\/?([a-z0-9]+)[^>]*>/gi, (_tag, name: string) => (BLOCK_TAGS.has(name.toLowerCase()) ? '\n' : ''))
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/[ \t]+/g, ' ')
    .replace(/\n\s*\n+/g, '\n\n')
    .trim();
  return { text, hiddenElements };
}
