// Output check `link_allowlist` (LLM05-2): links and images in any output string may only point at allowlisted
// hosts, and scripting/data URIs never pass. Markdown images are the exfiltration channel (the renderer fetches
// them unasked, query string and all), so an off-list image is removed outright rather than rewritten.
import { z } from 'zod';
import { FieldSelection, mapStrings, stringLeaves } from '../fields.js';
import type { CheckContext, CheckDefinition } from '../types.js';
import { DANGEROUS_SCHEME, URL_PATTERN, hostAllowed, hostOf, linkTargetProblem, urlView } from '../urls.js';
import { linkTargets } from '../link-targets.js';

export const LinkAllowlistConfig = z.strictObject({
  hosts: z
    .array(z.string().min(1).toLowerCase())
    .default([])
    .describe('Hosts allowed in addition to the request context allowlist (lower-case, no scheme)'),
  allow_subdomains: z.boolean().default(true).describe('Whether sub.example.com is allowed when example.com is'),
  fields: FieldSelection,
});
export type LinkAllowlistConfig = z.infer<typeof LinkAllowlistConfig>;

const MARKDOWN_IMAGE = /!\[[^\]]*\]\(\s*<?([^)\s>]*)>?[^)]*\)/g;
const REMOVED_LINK = '[link removed]';
const BLOCKED_URI = '[blocked-uri]';
/** What a field becomes when neutralising could not make it clean (e.g. entity-encoded payloads). */
export const REMOVED_CONTENT = '[content removed]';

interface Finding {
  readonly reason: string;
}

function findings(text: string, allowed: (host: string) => boolean): Finding[] {
  const view = urlView(text);
  const found: Finding[] = [];
  if (view.search(DANGEROUS_SCHEME) !== -1) found.push({ reason: 'script or data URI' });
  for (const [, target = ''] of view.matchAll(MARKDOWN_IMAGE)) {
    const host = /^[a-z][a-z0-9+.-]*:|^\/\//.test(target) ? hostOf(target) : '';
    // Relative image paths resolve against the caller's own site; anything absolute must be allowlisted.
    if (host === null || (host !== '' && !allowed(host))) found.push({ reason: 'markdown image to a host off the allowlist' });
  }
  for (const [url] of view.matchAll(URL_PATTERN)) {
    const host = hostOf(url);
    if (host === null || !allowed(host)) found.push({ reason: 'link to a host off the allowlist' });
  }
  // The same text as a renderer tokenises it: markdown destinations, bare URLs to their real end, HTML attributes.
  for (const target of linkTargets(text)) {
    const problem = linkTargetProblem(target, allowed);
    if (problem !== null) found.push({ reason: problem });
  }
  return found;
}

function neutralise(text: string, allowed: (host: string) => boolean): string {
  const rewritten = text
    .replace(MARKDOWN_IMAGE, (image, target: string) => {
      const host = /^[a-z][a-z0-9+.-]*:|^\/\//i.test(target) ? hostOf(target) : '';
      return host === '' || (host !== null && allowed(host)) ? image : '';
    })
    .replace(DANGEROUS_SCHEME, BLOCKED_URI)
    .replace(URL_PATTERN, (url) => {
      const host = hostOf(url);
      return host !== null && allowed(host) ? url : REMOVED_LINK;
    });
  // Fail closed: what the decoded view still flags (entity-encoded schemes, odd encodings) takes the whole field.
  return findings(rewritten, allowed).length === 0 ? rewritten : REMOVED_CONTENT;
}

const allowlist =
  (context: CheckContext, config: LinkAllowlistConfig) =>
  (host: string): boolean =>
    hostAllowed(host, [...context.allowedLinkHosts, ...config.hosts], config.allow_subdomains);

export const linkAllowlistCheck: CheckDefinition<LinkAllowlistConfig> = {
  name: 'link_allowlist',
  description: 'Links and images only to allowlisted hosts; javascript:/data: URIs always trip; repairs by removing them',
  stages: ['output'],
  canRepair: true,
  configSchema: LinkAllowlistConfig,
  run: (context, value, config) => {
    const allowed = allowlist(context, config);
    const reasons = stringLeaves(value, config.fields).flatMap(({ path, text }) => {
      const kinds = new Set(findings(text, allowed).map((finding) => finding.reason));
      return [...kinds].map((reason) => `${path}: ${reason}`);
    });
    if (reasons.length === 0) return { tripped: false, reasons: [] };
    return { tripped: true, reasons, repaired: mapStrings(value, config.fields, (text) => neutralise(text, allowed)) };
  },
};
