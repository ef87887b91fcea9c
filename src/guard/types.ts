// The shape every guard check has (the openai-guardrails-js shape): a pure function from context, value and
// its own parsed config to a result value. Checks never throw on purpose; the runner treats a throw as a failure.
import type { z } from 'zod';

export type GuardStage = 'input' | 'output';

export interface CheckContext {
  readonly requestId: string;
  readonly task: string;
  /** Ids of the chunks retrieved for this request: the only ids an output may cite. */
  readonly retrievedChunkIds: ReadonlySet<string>;
  /** Per-request canary placed in the system prompt (LLM07-2). */
  readonly canary: string;
  /** Link hosts the policy allows in output (lower-case, no scheme). */
  readonly allowedLinkHosts: readonly string[];
  /** The system message sent upstream; output checks look for verbatim overlap with it (LLM07-2). */
  readonly systemPrompt: string;
  /** The caller's API key id, for checks that spend a per-key budget (model_screen); absent in offline evaluations. */
  readonly keyId?: string;
}

export interface CheckResult {
  /** True when the check found a problem. */
  readonly tripped: boolean;
  /** Short, secret-free reasons (they reach the review queue and the audit row, never the raw secret). */
  readonly reasons: readonly string[];
  /**
   * For checks that can repair: the value with the problem removed (redacted input, sanitised HTML).
   * Used when the rule's action is `redact`; ignored otherwise.
   */
  readonly repaired?: Readonly<Record<string, unknown>>;
  /** Counts per kind of what was (or would be) redacted, e.g. `{ email: 2 }`; never the values themselves. */
  readonly redactions?: Readonly<Record<string, number>>;
  /** Detector score in [0, 1] for scoring checks, so evaluations can report TPR at a fixed FPR (PI-6). */
  readonly score?: number;
  /**
   * Set when the check could not decide (its model failed, timed out, answered out of shape, or the key's budget is
   * spent): the rule fails all the same, and the caller is told to retry after this many seconds instead of being denied.
   */
  readonly unavailable?: ScreenUnavailable;
}

export interface ScreenUnavailable {
  readonly retryAfterSeconds: number;
  /** The key's call budget refused the call (LLM10-5: answered like any spent budget, 429). */
  readonly budgetSpent: boolean;
}

export interface CheckDefinition<Config = unknown> {
  readonly name: string;
  readonly description: string;
  readonly stages: readonly GuardStage[];
  /** Whether the check can produce `repaired`; policies may only use `redact` with such checks. */
  readonly canRepair: boolean;
  /** The check sends the text to another service (model_screen): skipped once the stage is denied anyway. */
  readonly sendsTextOut?: boolean;
  readonly configSchema: z.ZodType<Config>;
  readonly run: (
    context: CheckContext,
    value: Readonly<Record<string, unknown>>,
    config: Config,
  ) => CheckResult | Promise<CheckResult>;
}

/** Erases the config type so definitions with different configs share one registry map. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCheckDefinition = CheckDefinition<any>;
export type CheckRegistry = ReadonlyMap<string, AnyCheckDefinition>;
