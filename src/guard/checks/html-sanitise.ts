// Output check `html_sanitise` (LLM05-2): HTML fields (body_html) are cut down to a small block/inline allowlist
// with sanitize-html, and WordPress shortcodes not on the policy's list are removed, because WordPress would
// execute them when the caller publishes the draft. Trips when anything was removed; the repair is the clean HTML.
import sanitizeHtml from 'sanitize-html';
import { z } from 'zod';
import { FieldSelection, mapStrings, stringLeaves } from '../fields.js';
import type { CheckDefinition } from '../types.js';
import { hostAllowed, hostOf } from '../urls.js';
import { neutraliseScriptText } from './plain-text.js';

export const HtmlSanitiseConfig = z.strictObject({
  fields: FieldSelection.default(['body_html']),
  allowed_shortcodes: z
    .array(z.string().regex(/^[a-z0-9_-]+$/i))
    .default([])
    .describe('WordPress shortcode names that may stay (e.g. "caption"); every other [shortcode] is removed'),
  image_hosts: z
    .array(z.string().min(1).toLowerCase())
    .default([])
    .describe('Hosts <img> may load from, in addition to the request context link allowlist; https only'),
});
export type HtmlSanitiseConfig = z.infer<typeof HtmlSanitiseConfig>;

const ALLOWED_TAGS = ['p', 'h2', 'h3', 'ul', 'ol', 'li', 'strong', 'em', 'a', 'blockquote', 'code', 'pre', 'img'];

// `[name attr="x"]`, `[name/]` and `[/name]`; `[[name]]` is WordPress's own escape and is left as text.
const SHORTCODE = /(?<!\[)\[(\/?)([a-z0-9_-]+)(?:\s[^\]]*)?\/?\](?!\])/gi;

// Re-serialising through the same parser with nothing disallowed gives the baseline the strict result is
// compared with, so quoting and entity normalisation alone never count as a removal.
const BASELINE: sanitizeHtml.IOptions = {
  allowedTags: false,
  allowedAttributes: false,
  allowVulnerableTags: true,
  allowedSchemesAppliedToAttributes: [],
};

function strictOptions(imageAllowed: (src: string) => boolean): sanitizeHtml.IOptions {
  return {
    allowedTags: ALLOWED_TAGS,
    allowedAttributes: { a: ['href'], img: ['src', 'alt'] },
    allowedSchemes: ['https', 'http', 'mailto'],
    allowedSchemesByTag: { img: ['https'] },
    allowProtocolRelative: false,
    disallowedTagsMode: 'discard',
    exclusiveFilter: (frame) => frame.tag === 'img' && !imageAllowed(frame.attribs['src'] ?? ''),
    // Trade-off: a draft that shows `alert(1)` inside <code> is neutralised too; blog drafts for shops rarely need it.
    textFilter: neutraliseScriptText,
  };
}

function removeShortcodes(html: string, allowed: readonly string[]): string {
  return html.replace(SHORTCODE, (code, _slash: string, name: string) =>
    allowed.includes(name.toLowerCase()) ? code : '',
  );
}

export const htmlSanitiseCheck: CheckDefinition<HtmlSanitiseConfig> = {
  name: 'html_sanitise',
  description: 'Allowlist HTML in HTML fields; strips scripts, handlers, unsafe URIs, foreign images, unknown shortcodes',
  stages: ['output'],
  canRepair: true,
  configSchema: HtmlSanitiseConfig,
  run: (context, value, config) => {
    const imageHosts = [...context.allowedLinkHosts, ...config.image_hosts];
    const imageAllowed = (src: string): boolean => {
      const host = /^https:\/\//i.test(src) ? hostOf(src) : null;
      return host !== null && hostAllowed(host, imageHosts, false);
    };
    const allowedShortcodes = config.allowed_shortcodes.map((name) => name.toLowerCase());
    const options = strictOptions(imageAllowed);
    const clean = (html: string): string => removeShortcodes(sanitizeHtml(html, options), allowedShortcodes);
    const reasons = stringLeaves(value, config.fields)
      .filter(({ text }) => clean(text) !== sanitizeHtml(text, BASELINE))
      .map(({ path }) => `${path}: disallowed HTML or shortcode removed`);
    if (reasons.length === 0) return { tripped: false, reasons: [] };
    return { tripped: true, reasons, repaired: mapStrings(value, config.fields, clean) };
  },
};
