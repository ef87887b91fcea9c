// Output check `plain_text` (LLM05-2): fields that are not declared HTML must not carry markup or script calls.
// Tags, event-handler attributes and `alert(`-style calls in a "plain" field only matter to a caller who renders
// it unescaped, and that is exactly the caller we protect (WordPress templates, CRM notes). Repair strips them;
// what cannot be stripped removes the field.
import { z } from 'zod';
import { mapStrings, stringLeaves } from '../fields.js';
import type { CheckDefinition } from '../types.js';
import { REMOVED_CONTENT } from './link-allowlist.js';

export const PlainTextConfig = z.strictObject({
  html_fields: z
    .array(z.string().min(1))
    .default(['body_html'])
    .describe('Top-level fields that are HTML by contract (checked by html_sanitise instead); all others are plain'),
  script_calls: z
    .boolean()
    .default(true)
    .describe('Also trip on browser script idioms (alert(, document.cookie, window.location) in plain fields'),
});
export type PlainTextConfig = z.infer<typeof PlainTextConfig>;

const TAG = /<\/?[a-z][a-z0-9-]*(?:[\s/][^>]*)?>|<!--|<!\[?[a-z]/i;
const HANDLER = /\bon[a-z]{3,}\s*=/i;
const RAW_TEXT_ELEMENT = /<(script|style|iframe|object|embed|template|noscript)\b[\s\S]*?(?:<\/\1\s*>|$)/gi;
const ANY_TAG = /<\/?[a-z][a-z0-9-]*(?:[\s/][^>]*)?>|<!--[\s\S]*?(?:-->|$)|<!\[?[a-z][^>]*>?/gi;
const HANDLER_ATTRIBUTE = /\bon[a-z]{3,}\s*=\s*(?:"[^"]*"?|'[^']*'?|[^\s>]*)/gi;

const SCRIPT_CALL =
  /\b(?:alert|prompt|confirm|eval|settimeout|setinterval|atob|fromcharcode)\s*[(`]|\bdocument\s*\.\s*(?:cookie|domain|write|location)\b|\bwindow\s*\.\s*(?:location|onerror|open)\b/gi;
const SCRIPT_REMOVED = '[script removed]';

/**
 * Replaces browser script idioms and handler-looking text with a marker. Also used on the text nodes of HTML fields:
 * inert as escaped text, they still turn live if a caller pastes the text into an attribute or template.
 */
export const neutraliseScriptText = (text: string): string => text.replace(SCRIPT_CALL, SCRIPT_REMOVED).replace(HANDLER_ATTRIBUTE, SCRIPT_REMOVED);

function hasMarkup(text: string, scriptCalls: boolean): boolean {
  return TAG.test(text) || HANDLER.test(text) || (scriptCalls && text.search(SCRIPT_CALL) !== -1);
}

function strip(text: string, scriptCalls: boolean): string {
  const withoutMarkup = text.replace(RAW_TEXT_ELEMENT, '').replace(ANY_TAG, '').replace(HANDLER_ATTRIBUTE, '');
  const stripped = scriptCalls ? withoutMarkup.replace(SCRIPT_CALL, SCRIPT_REMOVED) : withoutMarkup;
  return hasMarkup(stripped, scriptCalls) ? REMOVED_CONTENT : stripped;
}

export const plainTextCheck: CheckDefinition<PlainTextConfig> = {
  name: 'plain_text',
  description: 'Non-HTML output fields must not contain HTML tags, on* handlers or script calls; repairs by stripping them',
  stages: ['output'],
  canRepair: true,
  configSchema: PlainTextConfig,
  run: (_context, value, config) => {
    const plainFields = Object.keys(value).filter((key) => !config.html_fields.includes(key));
    const reasons = stringLeaves(value, plainFields)
      .filter(({ text }) => hasMarkup(text, config.script_calls))
      .map(({ path }) => `${path}: markup in a plain-text field`);
    if (reasons.length === 0) return { tripped: false, reasons: [] };
    return { tripped: true, reasons, repaired: mapStrings(value, plainFields, (text) => strip(text, config.script_calls)) };
  },
};
