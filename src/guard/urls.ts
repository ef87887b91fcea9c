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

const SCHEME = /^[a-z][a-z0-9+.-]*:/i;
/** Browsers read `\` as `/` in http(s) URLs, so `\\host` and `/\host` are protocol-relative too. */
const PROTOCOL_RELATIVE = /^[\\/]{2}/;
const SAFE_SCHEMES = new Set(['mailto:', 'tel:']);
// WHATWG strips leading/trailing C0 controls and spaces, and tabs and newlines anywhere, before parsing.
// eslint-disable-next-line no-control-regex
const STRIPPED_BY_PARSER = /^[\u0000-\u0020]+|[\u0000-\u0020]+$|[\t\n\r]/g;

/**
 * Why a link target may not stay, or null when it may (LLM05-2). The target is parsed as a browser would (WHATWG URL),
 * so the host judged is the host visited: `https://allowed.example'@evil.example/` is evil.example. Userinfo is refused
 * outright, whatever the host: it exists in output only to make a link look like it goes somewhere it does not.
 * Relative targets resolve against the caller's own site and pass; http(s) needs an allowed host; mailto: and tel:
 * pass; any other scheme does not.
 */
export function linkTargetProblem(target: string, allowed: (host: string) => boolean): string | null {
  const input = target.replace(STRIPPED_BY_PARSER, '');
  const absolute = SCHEME.test(input);
  if (!absolute && !PROTOCOL_RELATIVE.test(input)) return null;
  let url: URL;
  try {
    url = absolute ? new URL(input) : new URL(input, 'https://relative.invalid/');
  } catch {
    return 'unparseable link';
  }
  if (SAFE_SCHEMES.has(url.protocol)) return null;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'link with a scheme other than http(s), mailto or tel';
  if (url.username !== '' || url.password !== '') return 'link with userinfo (user@host)';
  // `example.com.` is the same site as `example.com` (the root label), so the allowlist reads it without the dot.
  return allowed(url.hostname.toLowerCase().replace(/\.$/, '')) ? null : 'link to a host off the allowlist';
}
