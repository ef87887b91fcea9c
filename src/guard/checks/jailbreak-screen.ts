// Input check `jailbreak_screen` (LLM01-5, PI-4): a transparent heuristic scorer for caller text. Each signal
// family is a phrase-level pattern with a weight; the score is 1 − Π(1 − w) over the families that fire, so one
// strong signal or several weak ones are needed. Single trigger words ("ignore", "uncensored") are deliberately
// weak, because benign business text uses them (NotInject). Scores are reported so evaluations can give TPR at
// a fixed FPR (PI-6); this is a screen, never the only gate (PI-5).
import { z } from 'zod';
import { FieldSelection, stringLeaves } from '../fields.js';
import { normaliseText } from '../normalise.js';
import type { CheckDefinition } from '../types.js';

interface Signal {
  readonly name: string;
  readonly weight: number;
  readonly pattern: RegExp;
}

const INSTRUCTIONS =
  '(?:instructions?|prompts?|rules|guidelines|directives|programming|restrictions|constraints|policies|polic(?:y|ies)|guidance|commands|orders|training|directions|context|conversation)';

/** Weighted signal families, matched against normalised, lower-cased text. */
export const SIGNALS: readonly Signal[] = [
  {
    name: 'override_previous_instructions',
    weight: 0.75,
    pattern: new RegExp(
      `\\b(?:ignore|disregard|forget|override|bypass|skip|drop|abandon|discard|set aside)\\b[^.!?\\n]{0,40}\\b(?:all|any|every|previous|prior|above|earlier|preceding|former|original|initial|your|the|those|these)\\b[^.!?\\n]{0,30}\\b${INSTRUCTIONS}`,
    ),
  },
  {
    name: 'forget_everything',
    weight: 0.55,
    pattern: /\b(?:forget|ignore|disregard) (?:everything|all of (?:that|this|it)|what (?:you were|i) (?:told|said))\b/,
  },
  { name: 'dan_persona', weight: 0.7, pattern: /\bdo anything now\b|\b(?:anti-?)?dan(?: mode| \d+(?:\.\d+)?)\b|\bdan:/ },
  {
    name: 'privileged_mode',
    weight: 0.55,
    pattern:
      /\b(?:developer|dev|god|jailbreak|jailbroken|unrestricted|unfiltered|uncensored|evil|debug|debugging|admin|maintenance|sudo|opposite|chaos) mode\b(?:[^.!?\n]{0,20}\b(?:enabled|activated|on|output)\b)?/,
  },
  {
    name: 'no_restrictions_persona',
    weight: 0.5,
    pattern:
      /\b(?:no|without|free (?:from|of)|not bound by|doesn'?t (?:have|follow|care about)|don'?t (?:have|follow)|ignores?|break(?:s)? free of|broken free of|freed from)\b[^.!?\n]{0,30}\b(?:any |the |all |typical |usual )?(?:filters?|restrictions?|censorship|limits|limitations|boundaries|ethic(?:s|al (?:guidelines|restrictions|constraints))|moral(?:s|ity| (?:guidelines|restrictions|constraints))|content polic(?:y|ies)|guidelines|rules|safeguards|confines)\b/,
  },
  {
    name: 'vendor_policy_reference',
    weight: 0.35,
    pattern: /\b(?:openai|anthropic|google)(?:'s)? (?:content |usage )?(?:polic(?:y|ies)|guidelines|rules|restrictions)\b|\bcontent polic(?:y|ies)\b/,
  },
  {
    name: 'persona_assignment',
    weight: 0.35,
    pattern:
      /\b(?:you are (?:no longer|now|going to (?:act|pretend|be))|you will (?:now )?(?:act|pretend|roleplay|role-play|be playing)|from now on,? (?:you|act|pretend|respond|answer|reply)|(?:act|behave|respond|answer|reply) as (?:if you (?:were|are) )?(?:an? )?(?:ai|chatbot|assistant|character|model|language model|unfiltered|evil|amoral)|pretend (?:to be|that you are|you are)|roleplay as|role-play as|simulate (?:being )?an? (?:ai|chatbot|model))\b/,
  },
  {
    name: 'addresses_model',
    weight: 0.2,
    pattern: /\b(?:chatgpt|chat gpt|gpt-?[345]|openai|ai language model|large language model|bard|claude|llama)\b/,
  },
  {
    name: 'stay_in_character',
    weight: 0.45,
    pattern: /\b(?:stay|remain|keep|staying|remaining) (?:in|out of) character\b|\bbreak(?:ing)? character\b|\bcharacter (?:break|is broken)\b/,
  },
  {
    name: 'refusal_suppression',
    weight: 0.45,
    pattern:
      /\b(?:never|not|don'?t|do not|cannot|can'?t|must not|won'?t|will not|shall not)\b[^.!?\n]{0,20}\b(?:refuse|decline|reject|apologi[sz]e|say (?:that )?(?:you|it) (?:can'?t|cannot)|(?:add|include|give) (?:any )?(?:warnings?|disclaimers?|caveats?))\b|\bwithout (?:any )?(?:warnings?|disclaimers?|censorship|hesitation|filters?)\b|\b(?:always|must) (?:answer|respond|comply|obey)\b[^.!?\n]{0,30}\b(?:any|every|all|no matter)\b/,
  },
  {
    name: 'dual_response_format',
    weight: 0.45,
    pattern:
      /(?:🔓|🔒) ?(?:jailbreak|developer|normal|classic|unlocked|dan)|\[(?:🔓|🔒)?\s?(?:jailbreak|classic|normal|dan|unlocked|locked)[^\]]{0,20}\]|\b(?:two|2) (?:different |separate )?(?:responses|answers|paragraphs)\b[^.!?\n]{0,60}\b(?:one|first)\b|\bno matter what\b/,
  },
  {
    name: 'harm_persona_traits',
    weight: 0.3,
    pattern:
      /\b(?:amoral|unethical|immoral|unhinged|unrestricted|uncensored|unfiltered|evil)\b[^.!?\n]{0,30}\b(?:ai|chatbot|assistant|bot|model|persona|character|version|entity)\b/,
  },
  {
    name: 'system_prompt_extraction',
    weight: 0.75,
    pattern:
      /\b(?:reveal|show|print|output|repeat|display|tell me|give me|what (?:are|were|is)|leak|dump|disclose|share|recite|spell out|translate|encode|summari[sz]e)\b[^.!?\n]{0,40}\b(?:system (?:prompt|message|instructions?|configuration|config)|(?:initial|original|hidden|secret|starting|first|pre-?|underlying|internal) (?:instructions?|prompts?|message|configuration)|your (?:instructions|prompt|directives|rules|programming)|instructions (?:you were|you've been|that you were) given|text above|everything above|words above|initiali[sz]ation string)\b/,
  },
  {
    name: 'hypothetical_world',
    weight: 0.25,
    pattern: /\b(?:fictional|hypothetical|imaginary|alternate|parallel) (?:world|universe|reality|setting|scenario)\b[^\n]{0,80}\b(?:no (?:rules|laws|restrictions|consequences)|anything (?:is|goes)|allowed)\b/,
  },
  {
    name: 'invented_model_persona',
    weight: 0.35,
    pattern:
      /\b(?!chatgpt\b)[a-z0-9]{2,}-?gpt\b|\b(?:you are|you're|i am|i'm) [a-z0-9-]+,? (?:an? |the )?(?:[a-z-]+ ){0,3}(?:ai|chatbot|language model|assistant|bot)\b/,
  },
  {
    name: 'prompt_program_syntax',
    weight: 0.35,
    pattern: /\b(?:persona|char|rules|role|prefix|job)\s?=|\bawait \[?<?input|\bfree input action\b|\[insert [^\]]{1,40}\]/,
  },
  {
    name: 'unbounded_compliance',
    weight: 0.4,
    pattern:
      /\b(?:can|will|must|should) (?:do|say|answer|write|generate) anything\b|\banything and everything\b|\b(?:answer|respond to|reply to|fulfil+|comply with) (?:any|every|all) (?:question|request|prompt|command|demand)s?\b[^.!?\n]{0,40}\b(?:regardless|no matter|even if|without)\b/,
  },
  {
    name: 'harmful_content_permission',
    weight: 0.35,
    pattern:
      /\b(?:condones?|promotes?|encourages?|allowed to|able to|will) (?:generate |produce |write |provide |create )?(?:any )?(?:illegal|harmful|explicit|nsfw|unethical|offensive|immoral|dangerous)\b|\bdoes ?n'?t care (?:about )?(?:any )?(?:laws?|morals?|ethics|rules|consequences)\b/,
  },
  {
    name: 'guard_evasion_request',
    weight: 0.5,
    pattern:
      /\b(?:bypass|evade|circumvent|disable|defeat|get around|jailbreak|trick|fool|break out of)\w*\b[^.!?\n]{0,30}\b(?:safety (?:controls?|filters?|measures|guardrails?)|content (?:filter\w*|moderation|polic\w+)|polic(?:y|ies) enforcement|guardrails?|safeguards|(?:llm|ai|chatbot|model|gpt)s?\b(?! (?:development|research)))/,
  },
  {
    name: 'token_game',
    weight: 0.35,
    pattern: /\b(?:tokens?|points?|lives)\b[^.!?\n]{0,40}\b(?:deducted|lose|lost|die|run out|shut down)\b/,
  },
];

// Long base64 runs are decoded and scored too (LLM01 scenario #9): an encoded instruction is itself a signal.
const BASE64_RUN = /[A-Za-z0-9+/]{24,}={0,2}/g;
const ENCODED_SIGNAL_WEIGHT = 0.35;

function decodedPayloads(text: string): string[] {
  return [...text.matchAll(BASE64_RUN)].flatMap(([run]) => {
    const decoded = Buffer.from(run, 'base64').toString('utf8');
    const printable = decoded.replace(/[^\x20-\x7E\n]/g, '').length / Math.max(decoded.length, 1);
    return printable > 0.9 && /[a-z]{3,} [a-z]{2,}/i.test(decoded) ? [decoded] : [];
  });
}

export interface JailbreakScore {
  readonly score: number;
  /** Names of the signal families that fired; safe to log (no caller text). */
  readonly signals: readonly string[];
}

/** Scores one caller text in [0, 1]. Exported for the evaluation script. */
export function scoreJailbreak(text: string): JailbreakScore {
  const normal = normaliseText(text).toLowerCase().replace(/[’‘`]/g, "'").replace(/\s+/g, ' ');
  const fired = SIGNALS.filter((signal) => signal.pattern.test(normal));
  const weights = fired.map((signal) => signal.weight);
  const signals = fired.map((signal) => signal.name);
  const payloads = decodedPayloads(normaliseText(text));
  if (payloads.length > 0) {
    const inner = Math.max(...payloads.map((payload) => scoreJailbreak(payload).score));
    weights.push(ENCODED_SIGNAL_WEIGHT, inner);
    signals.push('base64_payload');
  }
  const score = 1 - weights.reduce((rest, weight) => rest * (1 - weight), 1);
  return { score: Math.round(score * 1000) / 1000, signals };
}

export const JailbreakScreenConfig = z.strictObject({
  threshold: z.number().min(0).max(1).default(0.5).describe('Score at or above which caller text trips the screen'),
  fields: FieldSelection,
});
export type JailbreakScreenConfig = z.infer<typeof JailbreakScreenConfig>;

export const jailbreakScreenCheck: CheckDefinition<JailbreakScreenConfig> = {
  name: 'jailbreak_screen',
  description: 'Heuristic score for jailbreak, instruction-override and prompt-extraction phrasing in caller text',
  stages: ['input'],
  canRepair: false,
  configSchema: JailbreakScreenConfig,
  run: (_context, value, config) => {
    const scored = stringLeaves(value, config.fields).map((leaf) => ({ path: leaf.path, ...scoreJailbreak(leaf.text) }));
    const worst = scored.reduce<(typeof scored)[number] | undefined>(
      (max, entry) => (max === undefined || entry.score > max.score ? entry : max),
      undefined,
    );
    if (worst === undefined || worst.score < config.threshold) return { tripped: false, reasons: [], score: worst?.score ?? 0 };
    return {
      tripped: true,
      reasons: [`${worst.path}: jailbreak score ${worst.score} (${worst.signals.join(', ')})`],
      score: worst.score,
    };
  },
};
