// URL facts the output checks share: which hosts are allowed, which schemes are never allowed, and a decoded
// view of text that sees through HTML entities and the control characters browsers drop from URLs.

const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", colon: ':', sol: '/', lpar: '(', rpar: ')', tab: '\t',
  newline: '\n', period: '.', nbsp: ' ', excl: '!', num: '#', equals: '=', quest: '?', bsol: '\\',
};

/** Decodes numeric and common named HTML entities (repeatedly, to undo double encoding). */
export function decodeEntities(text: string): string {
  let current = text;
  for (let round = 0; round < 3; round += 1) {
    const next = current.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);?/gi, (whole, body: string) => {
      if (body.startsWith('#')) {
        const code = body[1] === 'x' || body[1] === 'X' ? Number.parseInt(body.slice(2), 16) : Number(body.slice(1));
        return Number.isInteger(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
      }
      return NAMED_ENTITIES[body.toLowerCase()] ?? whole;
    });
    if (next === current) return current;
    current = next;
  }
  return current;
}

/**
 * The text as a browser's URL parser would see it: entities decoded, tabs/newlines/control characters removed
 * (the WHATWG URL parser strips them, so `java&#x09;script:` still runs), lower-cased.
 */
export const urlView = (text: string): string =>
  decodeEntities(text)
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001F\u007F]/g, '')
    .toLowerCase();

/** Scripting and inline-content schemes; they trip wherever they appear in output (LLM05-2). */
export const DANGEROUS_SCHEME = /\b(?:java|vb|live|ecma)script\s*:|\bdata\s*:\s*[a-z]+\/[\w.+-]+/gi;

/** Absolute http(s) URLs, protocol-relative URLs in link positions, and GFM `www.` autolinks. */
export const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`)\]]+|(?<=[("'=\s])\/\/[a-z0-9-]+(?:\.[a-z0-9-]+)+[^\s<>"'`)\]]*|\bwww\.[a-z0-9-]+(?:\.[a-z0-9-]+)+[^\s<>"'`)\]]*/gi;

/** Lower-case host of an absolute, protocol-relative or `www.` URL; null when it cannot be parsed. */
export function hostOf(url: string): string | null {
  const absolute = url.startsWith('//') ? `https:${url}` : /^www\./i.test(url) ? `https://${url}` : url;
  try {
    return new URL(absolute).hostname.toLowerCase();
  } catch {
    return null;
  }
}

/** Exact match, or a subdomain of an allowed host when `allowSubdomains`. */
export function hostAllowed(host: string, allowed: readonly string[], allowSubdomains: boolean): boolean {
  return allowed.some((entry) => {
    const candidate = entry.toLowerCase();
    return host === candidate || (allowSubdomains && host.endsWith(`.${candidate}`));
  });
}
