// Output check `field_limits`: per-field length ceilings tighter than the contract (SEO title and description),
// and, for drafts, a canonical URL that must be https on an allowlisted host: a foreign canonical would hand the
// caller's search ranking to someone else.
import { z } from 'zod';
import type { CheckDefinition } from '../types.js';
import { decodeEntities, hostAllowed, hostOf } from '../urls.js';

export const FieldLimitsConfig = z.strictObject({
  max_lengths: z
    .record(z.string().min(1), z.int().min(1))
    .default({ title: 70, meta_description: 160 })
    .describe('Top-level string field → maximum length in code points'),
  canonical_field: z.string().min(1).default('canonical_url').describe('Field holding a canonical URL, when present'),
  html_field: z.string().min(1).default('body_html').describe('HTML field searched for <link rel="canonical">'),
  canonical_hosts: z
    .array(z.string().min(1).toLowerCase())
    .default([])
    .describe('Hosts a canonical URL may use, in addition to the request context link allowlist'),
});
export type FieldLimitsConfig = z.infer<typeof FieldLimitsConfig>;

const LINK_TAG = /<link\b[^>]*>/gi;

/** Canonical URLs named in `<link rel="canonical" href="…">` tags, attributes in any order. */
function canonicalLinks(html: string): string[] {
  return [...html.matchAll(LINK_TAG)].flatMap(([tag]) => {
    if (!/\brel\s*=\s*["']?canonical\b/i.test(tag)) return [];
    const href = /\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/i.exec(tag);
    return [decodeEntities(href?.[1] ?? href?.[2] ?? href?.[3] ?? '')];
  });
}

export const fieldLimitsCheck: CheckDefinition<FieldLimitsConfig> = {
  name: 'field_limits',
  description: 'Per-field length limits and an https, allowlisted canonical URL for drafts',
  stages: ['output'],
  canRepair: false,
  configSchema: FieldLimitsConfig,
  run: (context, value, config) => {
    const reasons: string[] = [];
    for (const [field, max] of Object.entries(config.max_lengths)) {
      const text = value[field];
      if (typeof text === 'string' && [...text].length > max) reasons.push(`${field} is longer than ${max}`);
    }
    const html = value[config.html_field];
    const declared = value[config.canonical_field];
    const canonicals = [
      ...(typeof declared === 'string' && declared !== '' ? [declared] : []),
      ...(typeof html === 'string' ? canonicalLinks(html) : []),
    ];
    const hosts = [...context.allowedLinkHosts, ...config.canonical_hosts];
    for (const url of canonicals) {
      const host = /^https:\/\//i.test(url.trim()) ? hostOf(url.trim()) : null;
      if (host === null || !hostAllowed(host, hosts, false)) reasons.push('canonical URL is not https on an allowlisted host');
    }
    return { tripped: reasons.length > 0, reasons };
  },
};
