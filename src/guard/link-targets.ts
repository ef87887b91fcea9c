// Every place in an output string a renderer could take a link from (LLM05-2), found the way the renderer finds it:
// markdown inline links and images, reference definitions and autolinks (CommonMark), bare URLs (GFM autolinks run
// until whitespace or `<`, so `'`, `)` and `]` do not end them), and every link-bearing HTML attribute as an HTML
// parser decodes it. Each target is then judged by one WHATWG parse (urls.ts `linkTargetProblem`).
import { Parser } from 'htmlparser2';
import { decodeEntities } from './urls.js';

/** Attributes whose whole value is one URL. */
const URL_ATTRIBUTES = new Set([
  'href', 'src', 'action', 'formaction', 'xlink:href', 'poster', 'cite', 'data', 'background', 'longdesc', 'lowsrc',
  'dynsrc', 'manifest', 'codebase', 'icon', 'profile', 'usemap', 'itemid', 'itemtype', 'ping', 'archive',
]);
/** Attributes holding several URLs: `srcset` candidates are `url [descriptor]`, comma-separated; `ping` and `archive` are space-separated. */
const SRCSET_ATTRIBUTES = new Set(['srcset', 'imagesrcset']);
const LIST_ATTRIBUTES = new Set(['ping', 'archive']);
const CSS_URL = /url\(\s*(['"]?)([^'")]*)\1\s*\)|@import\s+(['"])([^'"]*)\3/gi;
const REFRESH_URL = /\burl\s*=\s*['"]?([^'"\s;]+)/i;
const LOOKS_LIKE_HTML = /<[a-z!?/]/i;

/** Bare absolute and `www.` URLs up to what ends a GFM autolink (whitespace, `<`), plus quotes and backticks around them. */
const BARE_URL = /\b(?:https?:\/\/|www\.)[^\s<>"`]+/gi;
/** `[label]: destination` at the start of a line (a CommonMark link reference definition). */
const REFERENCE_DEFINITION = /^ {0,3}\[[^\]\n]+\]:[ \t]*\n?[ \t]*(<[^>\n]*>|\S+)/gm;
/** `<scheme:…>` (a CommonMark autolink). */
const AUTOLINK = /<([a-z][a-z0-9+.-]{1,31}:[^\s<>]*)>/gi;
const BACKSLASH_ESCAPE = /\\([!-/:-@[-`{-~])/g;

const unescapeMarkdown = (destination: string): string => destination.replace(BACKSLASH_ESCAPE, '$1');
const unbracket = (destination: string): string => (destination.startsWith('<') && destination.endsWith('>') ? destination.slice(1, -1) : destination);

/** The destination after `](` at `start`, as CommonMark reads it: `<…>`, or up to whitespace or an unbalanced `)`. */
function inlineDestination(text: string, start: number): string {
  let at = start;
  while (text[at] === ' ' || text[at] === '\t' || text[at] === '\n') at += 1;
  if (text[at] === '<') {
    const end = text.indexOf('>', at);
    return end === -1 ? text.slice(at + 1) : text.slice(at + 1, end);
  }
  let depth = 0;
  let end = at;
  for (; end < text.length; end += 1) {
    const char = text[end] as string;
    if (char === '\\') {
      end += 1;
      continue;
    }
    if (/\s/.test(char)) break;
    if (char === '(') depth += 1;
    if (char === ')') {
      if (depth === 0) break;
      depth -= 1;
    }
  }
  return text.slice(at, end);
}

function markdownTargets(text: string): string[] {
  const targets: string[] = [];
  for (let at = text.indexOf(']('); at !== -1; at = text.indexOf('](', at + 2)) targets.push(inlineDestination(text, at + 2));
  for (const [, destination = ''] of text.matchAll(REFERENCE_DEFINITION)) targets.push(unbracket(destination));
  for (const [, destination = ''] of text.matchAll(AUTOLINK)) targets.push(destination);
  return targets.map(unescapeMarkdown);
}

/** GFM drops trailing punctuation and an unbalanced closing bracket from an autolink; a quote cannot end a real host either. */
function trimTrailing(url: string): string {
  let trimmed = url;
  for (;;) {
    const last = trimmed.at(-1);
    const unbalanced = (open: string, close: string): boolean => last === close && trimmed.split(close).length > trimmed.split(open).length;
    if (last === undefined || !("?!.,:*_~'".includes(last) || unbalanced('(', ')') || unbalanced('[', ']'))) return trimmed;
    trimmed = trimmed.slice(0, -1);
  }
}

function bareTargets(text: string): string[] {
  return [...text.matchAll(BARE_URL)].map(([url]) => trimTrailing(/^www\./i.test(url) ? `https://${url}` : url));
}

function attributeTargets(tag: string, name: string, value: string, attributes: ReadonlyMap<string, string>): string[] {
  if (URL_ATTRIBUTES.has(name)) return LIST_ATTRIBUTES.has(name) ? value.split(/[\s,]+/).filter(Boolean) : [value];
  if (SRCSET_ATTRIBUTES.has(name)) return value.split(',').map((candidate) => candidate.trim().split(/\s+/)[0] ?? '').filter(Boolean);
  if (name === 'style') return [...value.matchAll(CSS_URL)].map((match) => match[2] ?? match[4] ?? '');
  if (tag === 'meta' && name === 'content' && attributes.get('http-equiv')?.toLowerCase() === 'refresh') {
    const url = REFRESH_URL.exec(value)?.[1];
    return url === undefined ? [] : [url];
  }
  return [];
}

function htmlTargets(text: string): string[] {
  if (!LOOKS_LIKE_HTML.test(text)) return [];
  const targets: string[] = [];
  let tag = '';
  let attributes = new Map<string, string>();
  const parser = new Parser(
    {
      onopentagname(name) {
        tag = name;
        attributes = new Map();
      },
      onattribute(name, value) {
        attributes.set(name, value);
      },
      // Judged once the tag is complete, so `content` sees `http-equiv` whichever comes first.
      onopentag() {
        for (const [name, value] of attributes) targets.push(...attributeTargets(tag, name, value, attributes));
      },
      ontext(data) {
        // <style> bodies: url() and @import fetch as surely as an <img>.
        if (tag === 'style') targets.push(...[...data.matchAll(CSS_URL)].map((match) => match[2] ?? match[4] ?? ''));
      },
    },
    { decodeEntities: true, lowerCaseAttributeNames: true },
  );
  parser.write(text);
  parser.end();
  return targets;
}

/** Every link target in `text`, raw as each syntax yields it; judge them with `linkTargetProblem`. */
export function linkTargets(text: string): string[] {
  const decoded = decodeEntities(text);
  return [...htmlTargets(text), ...markdownTargets(decoded), ...bareTargets(decoded)];
}
