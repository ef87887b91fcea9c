// The model screen behind the `model_screen` check and the ingest scan (LLM01-5, PI-4): asks a classification model
// about a text, at most once per text while its verdict is cached, within a per-key call budget, and says plainly
// when it could not decide, so every caller can fail closed. Protocol-free: the classifier and the budget are injected.
import { createHash } from 'node:crypto';

export interface Verdict {
  readonly unsafe: boolean;
  /** A short label from the classifier ("prompt_injection", Llama Guard's "S2"); "none" when safe. */
  readonly category: string;
  /** In [0, 1] when the classifier reports one (Llama Guard does not). */
  readonly confidence: number | null;
}

/** `reason` is a stable, secret-free word: a problem code of the upstream call or `malformed_verdict`. */
export type ClassifyResult = { readonly ok: true; readonly verdict: Verdict } | { readonly ok: false; readonly reason: string };
export type Classify = (text: string) => Promise<ClassifyResult>;

/** Spends one call of a key's budget; refused calls say when to retry. */
export type ScreenBudget = (keyId: string) => Promise<{ readonly allowed: boolean; readonly retryAfterSeconds?: number }>;

export type ScreenOutcome =
  | { readonly kind: 'verdict'; readonly verdict: Verdict; readonly cached: boolean }
  /** No verdict: the caller must not pass the text. */
  | { readonly kind: 'unavailable'; readonly reason: string; readonly retryAfterSeconds: number };

export interface TextScreen {
  screen(text: string, keyId: string): Promise<ScreenOutcome>;
}

export interface TextScreenOptions {
  readonly classify: Classify;
  readonly budget: ScreenBudget;
  /** Milliseconds since the epoch, for cache expiry. */
  readonly now: () => number;
  readonly cacheEntries: number;
  readonly cacheTtlMs: number;
  /** Part of every cache key (the model and answer format): another classifier's verdict is not this one's. */
  readonly cacheScope: string;
}

/** The `reason` of an outcome refused by the key's call budget (LLM10-5). */
export const BUDGET_EXHAUSTED = 'budget_exhausted';

/** After an upstream failure, as the task calls say it (Retry-After: 5). */
const UPSTREAM_RETRY_SECONDS = 5;

/**
 * Only definite verdicts are cached, never a failure, so a blip is retried rather than remembered. The key is a hash:
 * the cache holds no screened text. Bounded (least recently used goes first) and each entry expires.
 */
function verdictCache(entries: number, ttlMs: number, now: () => number) {
  const cache = new Map<string, { readonly verdict: Verdict; readonly expiresAt: number }>();
  return {
    get(key: string): Verdict | undefined {
      const entry = cache.get(key);
      if (entry === undefined) return undefined;
      cache.delete(key);
      if (entry.expiresAt <= now()) return undefined;
      cache.set(key, entry);
      return entry.verdict;
    },
    set(key: string, verdict: Verdict): void {
      cache.delete(key);
      if (cache.size >= entries) cache.delete(cache.keys().next().value as string);
      cache.set(key, { verdict, expiresAt: now() + ttlMs });
    },
  };
}

export function createTextScreen(options: TextScreenOptions): TextScreen {
  const cache = verdictCache(options.cacheEntries, options.cacheTtlMs, options.now);
  const keyOf = (text: string): string => createHash('sha256').update(options.cacheScope).update('\0').update(text).digest('hex');
  return {
    async screen(text, keyId) {
      const key = keyOf(text);
      const cached = cache.get(key);
      if (cached !== undefined) return { kind: 'verdict', verdict: cached, cached: true };
      try {
        const budget = await options.budget(keyId);
        if (!budget.allowed) return { kind: 'unavailable', reason: BUDGET_EXHAUSTED, retryAfterSeconds: budget.retryAfterSeconds ?? 60 };
        const result = await options.classify(text);
        if (!result.ok) return { kind: 'unavailable', reason: result.reason, retryAfterSeconds: UPSTREAM_RETRY_SECONDS };
        cache.set(key, result.verdict);
        return { kind: 'verdict', verdict: result.verdict, cached: false };
      } catch (error) {
        // A budget store that is down (Redis) or a classifier bug: no verdict, named by class only (no message, no text).
        return { kind: 'unavailable', reason: `screen_error:${error instanceof Error ? error.name : 'unknown'}`, retryAfterSeconds: UPSTREAM_RETRY_SECONDS };
      }
    },
  };
}

/** How a verdict reads in reasons, audit rows and findings: never the text, only the label and the confidence. */
export const describeVerdict = (verdict: Verdict): string =>
  `${verdict.unsafe ? 'unsafe' : 'safe'}: ${verdict.category}${verdict.confidence === null ? '' : ` (confidence ${verdict.confidence})`}`;

export type ChunkScreening =
  | { readonly kind: 'screened'; readonly findings: ReadonlyArray<{ readonly ordinal: number; readonly reasons: readonly string[] }> }
  | { readonly kind: 'unavailable'; readonly reason: string; readonly retryAfterSeconds: number };

/**
 * The ingest stage: each chunk of a document, in order, under the ingesting actor's budget. An unsafe chunk becomes a
 * finding (the document is quarantined); the first chunk without a verdict stops the screening, and the caller refuses
 * the whole upload, because a document that was not fully screened must not become a draft.
 */
export async function screenChunks(screen: TextScreen, chunks: ReadonlyArray<{ readonly ordinal: number; readonly text: string }>, keyId: string): Promise<ChunkScreening> {
  const findings: Array<{ ordinal: number; reasons: string[] }> = [];
  for (const chunk of chunks) {
    const outcome = await screen.screen(chunk.text, keyId);
    if (outcome.kind === 'unavailable') return outcome;
    if (outcome.verdict.unsafe) findings.push({ ordinal: chunk.ordinal, reasons: [`model_screen:${outcome.verdict.category}`] });
  }
  return { kind: 'screened', findings };
}
