// Input check `model_screen` (LLM01-5, PI-5): the caller's text is classified by a configured model (a Llama-Guard-style
// classifier or any instruction model) through the model screen, which caches verdicts and keeps a per-key budget.
// It never passes without a safe verdict: an upstream failure, a timeout, a malformed answer or a spent budget trips
// the rule and marks it `unavailable`, which the pipeline answers with a retryable problem instead of a denial
// (503 screen_unavailable, or 429 quota_exceeded for a spent budget).
import { z } from 'zod';
import { FieldSelection, stringLeaves } from '../fields.js';
import { BUDGET_EXHAUSTED, describeVerdict, type TextScreen } from '../model-screen.js';
import type { AnyCheckDefinition, CheckDefinition } from '../types.js';

export const ModelScreenConfig = z.strictObject({ fields: FieldSelection });
export type ModelScreenConfig = z.infer<typeof ModelScreenConfig>;

const NAME = 'model_screen';
const DESCRIPTION = 'Caller text is classified by the configured screen model; only a safe verdict passes';
/** Evaluations and other callers without a key share one budget rather than escaping it. */
const NO_KEY = '(no key)';

export function createModelScreenCheck(screen: TextScreen): CheckDefinition<ModelScreenConfig> {
  return {
    name: NAME,
    description: DESCRIPTION,
    stages: ['input'],
    canRepair: false,
    sendsTextOut: true,
    configSchema: ModelScreenConfig,
    run: async (context, value, config) => {
      const text = stringLeaves(value, config.fields).map((leaf) => leaf.text).join('\n');
      if (text.trim() === '') return { tripped: false, reasons: [] };
      const outcome = await screen.screen(text, context.keyId ?? NO_KEY);
      if (outcome.kind === 'unavailable') {
        return { tripped: true, reasons: [`screen unavailable: ${outcome.reason}`], unavailable: { retryAfterSeconds: outcome.retryAfterSeconds, budgetSpent: outcome.reason === BUDGET_EXHAUSTED } };
      }
      const { verdict } = outcome;
      const score = verdict.confidence === null ? undefined : verdict.unsafe ? verdict.confidence : 1 - verdict.confidence;
      return { tripped: verdict.unsafe, reasons: [describeVerdict(verdict)], ...(score === undefined ? {} : { score }) };
    },
  };
}

/** Registered when no screen model is configured, so a policy naming the check is refused at load with the fix. */
export const modelScreenNotConfigured: CheckDefinition<ModelScreenConfig> = {
  name: NAME,
  description: `${DESCRIPTION} (not configured: set AIRLOCK_SCREEN_MODEL)`,
  stages: ['input'],
  canRepair: false,
  configSchema: z.never({ error: 'no screen model is configured (set AIRLOCK_SCREEN_MODEL)' }),
  run: () => ({ tripped: true, reasons: ['no screen model is configured'] }),
};

/** The check `model_screen` resolves to: the working one when a screen is configured. */
export const modelScreenCheck = (screen: TextScreen | undefined): AnyCheckDefinition =>
  screen === undefined ? modelScreenNotConfigured : createModelScreenCheck(screen);
