// Outbound SSRF guard (OWASP API7): which webhook URLs may be registered, and which resolved addresses may be
// connected to. https only; plain http, private, loopback, link-local and metadata targets only for hosts the
// operator allowlisted (AIRLOCK_WEBHOOK_ALLOW_HOSTS). Checked at registration and again after DNS at send time.
import { BlockList, isIP } from 'node:net';

const FORBIDDEN = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
  ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) FORBIDDEN.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128], ['::1', 128], ['100::', 64], ['2001:db8::', 32], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
] as const) FORBIDDEN.addSubnet(network, prefix, 'ipv6');

// IPv4 carried inside IPv6 (mapped, NAT64, compatible): the embedded address decides.
const EMBEDDED_V4 = /^(?:::ffff:|64:ff9b::|::)(\d{1,3}(?:\.\d{1,3}){3})$/i;
const EMBEDDED_V4_HEX = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i;

/** Names that always mean this machine or a cloud metadata service, whatever DNS says. */
const FORBIDDEN_NAMES = /(?:^|\.)localhost$|^metadata\.google\.internal$|^metadata$/i;

/** True for addresses a webhook must never reach: private, loopback, link-local (metadata), multicast, reserved. */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return FORBIDDEN.check(address, 'ipv4');
  if (family !== 6) return true;
  const dotted = EMBEDDED_V4.exec(address);
  if (dotted?.[1] !== undefined) return isForbiddenAddress(dotted[1]);
  const hex = EMBEDDED_V4_HEX.exec(address);
  if (hex?.[1] !== undefined && hex[2] !== undefined) {
    const [high, low] = [parseInt(hex[1], 16), parseInt(hex[2], 16)];
    return isForbiddenAddress(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`);
  }
  return FORBIDDEN.check(address, 'ipv6');
}

/** The host as URL parsing leaves it, without the brackets of an IPv6 literal, lower-cased. */
export const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();

export type UrlCheck = { readonly ok: true; readonly url: URL } | { readonly ok: false; readonly reason: string };

/** Registration-time check of a target URL; names are resolved (and checked again) only when sending. */
export function checkWebhookUrl(raw: string, allowHosts: ReadonlySet<string>): UrlCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'is not an absolute URL' };
  }
  const host = hostOf(url);
  const allowlisted = allowHosts.has(host);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowlisted)) {
    return { ok: false, reason: 'must use https (plain http only to hosts in AIRLOCK_WEBHOOK_ALLOW_HOSTS)' };
  }
  if (url.username !== '' || url.password !== '') return { ok: false, reason: 'must not carry credentials' };
  if (allowlisted) return { ok: true, url };
  if (FORBIDDEN_NAMES.test(host)) return { ok: false, reason: `points at ${host}, a local or metadata host` };
  if (isIP(host) !== 0 && isForbiddenAddress(host)) return { ok: false, reason: `points at ${host}, a private, loopback, link-local or reserved address` };
  return { ok: true, url };
}

export const parseAllowHosts = (list: readonly string[]): ReadonlySet<string> =>
  new Set(list.map((host) => host.trim().replace(/^\[(.*)\]$/, '$1').toLowerCase()).filter(Boolean));
