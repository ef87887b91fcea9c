// Input check `jailbreak_screen` (LLM01-5, PI-4): a transparent heuristic scorer for caller text. Each signal
// family is a phrase-level pattern with a weight; the score is 1 − Π(1 − w) over the families that fire. The screen
// trips only when the score reaches the threshold AND the evidence is decisive: a named strong signal, or at least
// two signals. One weak signal never suffices, whatever its weight ("no quantitative restrictions can be placed on
// trade" fires no_restrictions_persona and nothing else). Single trigger words ("ignore", "uncensored") are
// deliberately weak, because benign business text uses them (NotInject). The weights and the suffix threshold are
// data (JailbreakModel), so the evaluation can refit them without the attack category it is measuring (PI-6);
// this is a screen, never the only gate (PI-5).
import { z } from 'zod';
import { FieldSelection, stringLeaves } from '../fields.js';
import { collapseConfusables, normaliseText, stripInvisible } from '../normalise.js';
import { suffixBits } from '../adversarial-suffix.js';
import type { CheckDefinition } from '../types.js';
import { FITTED_MODEL } from './jailbreak-model.generated.js';

interface Signal {
  readonly name: string;
  readonly pattern: RegExp;
}

const INSTRUCTIONS =
  '(?:instructions?|prompts?|rules|guidelines|directives|programming|restrictions|constraints|policies|polic(?:y|ies)|guidance|commands|orders|training|directions|context|conversation)';

/** Signal families, matched against normalised, lower-cased text; their weights are in SHIPPED_MODEL. */
export const SIGNALS: readonly Signal[] = [
  {
    name: 'override_previous_instructions',
    pattern: new RegExp(
      `\\b(?:ignore|disregard|forget|override|bypass|skip|drop|abandon|discard|set aside)\\b[^.!?\\n]{0,40}\\b(?:all|any|every|previous|prior|above|earlier|preceding|former|original|initial|your|the|those|these)\\b[^.!?\\n]{0,30}\\b${INSTRUCTIONS}`,
    ),
  },
  {
    name: 'forget_everything',
    pattern: /\b(?:forget|ignore|disregard) (?:everything|all of (?:that|this|it)|what (?:you were|i) (?:told|said))\b/,
  },
  { name: 'dan_persona', pattern: /\bdo anything now\b|\b(?:anti-?)?dan(?: mode| \d+(?:\.\d+)?)\b|\bdan:/ },
  {
    name: 'privileged_mode',
    pattern:
      /\b(?:developer|dev|god|jailbreak|jailbroken|unrestricted|unfiltered|uncensored|evil|debug|debugging|admin|maintenance|sudo|opposite|chaos) mode\b(?:[^.!?\n]{0,20}\b(?:enabled|activated|on|output)\b)?/,
  },
  {
    name: 'no_restrictions_persona',
    pattern:
      /\b(?:no|without|free (?:from|of)|not bound by|doesn'?t (?:have|follow|care about)|don'?t (?:have|follow)|ignores?|break(?:s)? free of|broken free of|freed from)\b[^.!?\n]{0,30}\b(?:any |the |all |typical |usual )?(?:filters?|restrictions?|censorship|limits|limitations|boundaries|ethic(?:s|al (?:guidelines|restrictions|constraints))|moral(?:s|ity| (?:guidelines|restrictions|constraints))|content polic(?:y|ies)|guidelines|rules|safeguards|confines)\b/,
  },
  {
    name: 'vendor_policy_reference',
    pattern: /\b(?:openai|anthropic|google)(?:'s)? (?:content |usage )?(?:polic(?:y|ies)|guidelines|rules|restrictions)\b|\bcontent polic(?:y|ies)\b/,
  },
  {
    name: 'persona_assignment',
    pattern:
      /\b(?:you are (?:no longer|now|going to (?:act|pretend|be))|you will (?:now )?(?:act|pretend|roleplay|role-play|be playing)|from now on,? (?:you|act|pretend|respond|answer|reply)|(?:act|behave|respond|answer|reply) as (?:if you (?:were|are) )?(?:an? )?(?:ai|chatbot|assistant|character|model|language model|unfiltered|evil|amoral)|pretend (?:to be|that you are|you are)|roleplay as|role-play as|simulate (?:being )?an? (?:ai|chatbot|model))\b/,
  },
  {
    name: 'addresses_model',
    pattern: /\b(?:chatgpt|chat gpt|gpt-?[345]|openai|ai language model|large language model|bard|claude|llama)\b/,
  },
  {
    name: 'stay_in_character',
    pattern: /\b(?:stay|remain|keep|staying|remaining) (?:in|out of) character\b|\bbreak(?:ing)? character\b|\bcharacter (?:break|is broken)\b/,
  },
  {
    name: 'refusal_suppression',
    pattern:
      /\b(?:never|not|don'?t|do not|cannot|can'?t|must not|won'?t|will not|shall not)\b[^.!?\n]{0,20}\b(?:refuse|decline|reject|apologi[sz]e|say (?:that )?(?:you|it) (?:can'?t|cannot)|(?:add|include|give) (?:any )?(?:warnings?|disclaimers?|caveats?))\b|\bwithout (?:any )?(?:warnings?|disclaimers?|censorship|hesitation|filters?)\b|\b(?:always|must) (?:answer|respond|comply|obey)\b[^.!?\n]{0,30}\b(?:any|every|all|no matter)\b/,
  },
  {
    name: 'dual_response_format',
    pattern:
      /(?:🔓|🔒) ?(?:jailbreak|developer|normal|classic|unlocked|dan)|\[(?:🔓|🔒)?\s?(?:jailbreak|classic|normal|dan|unlocked|locked)[^\]]{0,20}\]|\b(?:two|2) (?:different |separate )?(?:responses|answers|paragraphs)\b[^.!?\n]{0,60}\b(?:one|first)\b|\bno matter what\b/,
  },
  {
    name: 'harm_persona_traits',
    pattern:
      /\b(?:amoral|unethical|immoral|unhinged|unrestricted|uncensored|unfiltered|evil)\b[^.!?\n]{0,30}\b(?:ai|chatbot|assistant|bot|model|persona|character|entity|version of (?:yourself|you|chatgpt|gpt|the (?:ai|assistant|model|chatbot)))\b/,
  },
  {
    name: 'system_prompt_extraction',
    pattern:
      /\b(?:reveal|show|print|output|repeat|display|tell me|give me|what (?:are|were|is)|leak|dump|disclose|share|recite|spell out|translate|encode|summari[sz]e)\b[^.!?\n]{0,40}\b(?:system (?:prompt|message|instructions?|configuration|config)|(?:initial|original|hidden|secret|starting|first|pre-?|underlying|internal) (?:instructions?|prompts?|message|configuration)|your (?:instructions|prompt|directives|rules|programming)|instructions (?:you were|you've been|that you were) given|text above|everything above|words above|initiali[sz]ation string)\b/,
  },
  {
    name: 'hypothetical_world',
    pattern: /\b(?:fictional|hypothetical|imaginary|alternate|parallel) (?:world|universe|reality|setting|scenario)\b[^\n]{0,80}\b(?:no (?:rules|laws|restrictions|consequences)|anything (?:is|goes)|allowed)\b/,
  },
  {
    name: 'invented_model_persona',
    pattern:
      /\b(?!chatgpt\b)[a-z0-9]{2,}-?gpt\b|\b(?:you are|you're|i am|i'm) [a-z0-9-]+,? (?:an? |the )?(?:[a-z-]+ ){0,3}(?:ai|chatbot|language model|assistant|bot)\b/,
  },
  {
    name: 'prompt_program_syntax',
    pattern: /\b(?:persona|char|rules|role|prefix|job)\s?=|\bawait \[?<?input|\bfree input action\b|\[insert [^\]]{1,40}\]/,
  },
  {
    name: 'unbounded_compliance',
    pattern:
      /\b(?:can|will|must|should) (?:do|say|answer|write|generate) anything\b|\banything and everything\b|\b(?:answer|respond to|reply to|fulfil+|comply with) (?:any|every|all) (?:question|request|prompt|command|demand)s?\b/,
  },
  {
    name: 'harmful_content_permission',
    pattern:
      /\b(?:condones?|promotes?|encourages?|allowed to|able to|will) (?:generate |produce |write |provide |create )?(?:any )?(?:illegal|harmful|explicit|nsfw|unethical|offensive|immoral|dangerous)\b|\bdoes ?n'?t care (?:about )?(?:any )?(?:laws?|morals?|ethics|rules|consequences)\b/,
  },
  {
    name: 'guard_evasion_request',
    pattern:
      /\b(?:bypass|evade|circumvent|disable|defeat|get around|jailbreak|trick|fool|break out of)\w*\b[^.!?\n]{0,30}\b(?:safety (?:controls?|filters?|measures|guardrails?)|content (?:filter\w*|moderation|polic\w+)|polic(?:y|ies) enforcement|guardrails?|safeguards|(?:llm|ai|chatbot|model|gpt)s?\b(?! (?:development|research)))/,
  },
  {
    name: 'token_game',
    pattern: /\b(?:tokens?|points?|lives)\b[^.!?\n]{0,40}\b(?:deducted|lose|lost|die|run out|shut down)\b/,
  },
  {
    // Role-play framing: a named character or persona the model is to play, a game whose rules bind its answers.
    name: 'roleplay_framing',
    pattern:
      /\b(?:character|persona|ai|bot|chatbot|assistant|entity|being|model) (?:named|called) [a-z0-9"']|\b(?:take (?:up|on)|adopt|assume) (?:the )?(?:role|persona|identity) of\b|\bin character as\b|\bplay (?:the )?(?:role|part) of\b|\blet'?s play a (?:game|role-?play)\b|\b(?:i want you to|you are to|you will|you must|you're going to|you are going to) (?:act|pretend|play|simulate|roleplay|role-play|behave|become|impersonate)\b|\bsimulate (?:a|an|the|being|human|two)\b|\bimpersonate\b|\byour (?:new )?(?:persona|character|role) (?:is|will be)\b|\b(?:personify|transform into|turn into)\b|\b(?:acts?|behaves?|talk|speak|pose) (?:like|as) (?!if\b|a result\b|soon\b|well\b|follows\b|needed\b)[a-z0-9"']+|\b(?:respond|reply|answer|write) like (?:an? |the )?[a-z0-9"']+/,
  },
  {
    // A fiction wrapped around the request: a fictional character, story or world, "let's imagine".
    name: 'fiction_frame',
    pattern:
      /\b(?:fictional|hypothetical|imaginary|made-up) (?:character|story|world|universe|scenario|setting|ai|api|entity|being|persona)s?\b|\blet'?s (?:imagine|pretend)\b|\bimagine (?:that|a world|you are)\b/,
  },
  {
    // A mode the model is told to enter or stay in ("simulate BABY Mode", "stay in APOPHIS mode").
    name: 'mode_switch',
    pattern: /\b(?:simulate|enter|enable|activate|switch (?:in)?to|stay in|remain in|while in|turn on|engage)\b [a-z0-9 -]{1,24} mode\b/,
  },
  {
    // Control over how every answer opens, ends or is reduced (prefix injection): "reply only with", "begin your
    // response with", "do not add any commentary".
    name: 'response_prefix_control',
    pattern:
      /\b(?:begin|start|end|open|prefix|finish) (?:your|every|each|all) (?:responses?|repl(?:y|ies)|answers?|messages?|outputs?)\b[^.!?\n]{0,20}\bwith\b|\b(?:reply|respond|answer) only (?:with|in|as|using)\b|\b(?:to|at) the (?:start|beginning|end) of (?:your|every|each) (?:responses?|repl(?:y|ies)|answers?|messages?)\b|\bmake (?:every|each|all) (?:responses?|repl(?:y|ies)|answers?)\b|\bdo not (?:add|include|write) any (?:commentary|explanations?|notes)\b/,
  },
  {
    // Standing orders on every future answer, the body of a persona prompt: what the model must always, never or
    // only do ("you will only reply", "never break", "do not explain", "your answers must", "in every response").
    // Imperatives only ("don't explain" after a sentence break, not "I don't explain"); the prefix and format demands
    // response_prefix_control reads are left to it, so one phrase does not count twice.
    name: 'answer_contract',
    pattern:
      /\byou (?:will|must|shall|should|need to|have to|are to) (?:always|never|only) (?:answer|respond|reply|say|write|speak|talk|act|stay|remain|refer|output|generate|mention|break|refuse|comply|obey|ignore|pretend)\b|\b(?:always|never) (?:respond|reply|answer|say|write|mention|break|stay|output|speak|talk|refer|remind|reveal)\b|(?:^|[.!?:;,*[(-] ?|\b(?:and|but|please|also|just|then|so) )(?:do not|don'?t|dont|never) (?:ever )?(?:explain|include|add|write|repeat|mention|offer|remind|break|reveal)\b(?! any (?:commentary|explanations?|notes)\b)|\b(?:whenever|each time|every time) you (?:answer|respond|reply|write|give|provide)\b|\byour (?:responses?|repl(?:y|ies)|answers?|outputs?) (?:should|must|will|shall|need to|has to|have to|are to|may only|can only)\b|\b(?:in|for|throughout|across) (?:all|every|each) (?:of )?(?:(?:your|my|the|future|subsequent|following) )*(?:responses?|repl(?:y|ies)|answers?|outputs?)\b|\b(?:all|every|each) (?:of )?(?:your )?(?:future|subsequent|following) (?:responses?|repl(?:y|ies)|answers?|outputs?|messages?|prompts?|questions?)\b|\byou will (?:(?:only|now|always|never|also) )?(?:answer|respond|reply|output|say|write|refer|ignore|stay|remain|comply|obey)\b/,
  },
  {
    // A set-up prompt asks the model to acknowledge its new rules before the real request ("Do you understand?" as a
    // question of its own, not "do you understand my concern"; "if you understand, say …", "reply with 'understood'").
    name: 'acknowledgement_request',
    pattern:
      /\b(?:do you understand|are you ready)[?.!]|\b(?:if|once|when) you (?:understand|are ready)\b|\b(?:tell me|confirm|let me know) (?:that |if |whether )?you (?:understand|are ready)\b|\b(?:reply|respond|answer|say|type) (?:with |by saying )?["']?(?:understood|ok|okay|i understand|ready)\b/,
  },
  {
    // A shared jailbreak is a template with a slot for the sender's own request ("[your prompt here]", "<topic>",
    // "[TARGETLANGUAGE]"); caller text written for a task fills its own blanks. "[insert …]" is prompt_program_syntax's.
    name: 'template_slot',
    pattern:
      /[[<{(] ?(?:your|put|type|enter|describe|write|add|the user'?s?|my) [^\]>})\n]{0,40}\b(?:prompt|request|question|query|here|topic|input|text|message)[\]>})]|[[<{](?:prompt|keyword|targetlanguage|topic|question|input|query|request)[\]>}]/,
  },
  {
    // The object of an extraction named outright, without the verb: the system prompt, what the model was told
    // before the caller spoke, the text above.
    name: 'system_prompt_reference',
    pattern:
      /\bsystem ?(?:prompt|message|instructions)\b|\b(?:what|text|words|instructions?) (?:you were|you've been|you have been) (?:told|given|instructed)|\b(?:repeat|recite) (?:the|this) (?:entire|whole|above|previous) (?:conversation|text|message)\b|\bbefore this conversation\b/,
  },
  {
    // Prompts that make the model continue its own instructions ("I was instructed to", "my instructions are").
    name: 'prompt_echo_request',
    pattern: /\bi was instructed to\b|\bmy instructions (?:are|were)\b|\bnot supposed to (?:tell|say|reveal|share)\b|\bword for word\b/,
  },
];

/**
 * A Latin word carrying a look-alike ("jаilbreаk" with Cyrillic а) is homoglyph smuggling: benign text does not mix
 * scripts inside a word. Normalisation folds it; this says whether there was anything to fold.
 */
const hadLookAlikes = (text: string): boolean => {
  const visible = stripInvisible(text.normalize('NFKC'));
  return collapseConfusables(visible) !== visible;
};

// Long base64 runs are decoded and scored too (LLM01 scenario #9): an encoded instruction is itself a signal.
const BASE64_RUN = /[A-Za-z0-9+/]{24,}={0,2}/g;

function decodedPayloads(text: string): string[] {
  return [...text.matchAll(BASE64_RUN)].flatMap(([run]) => {
    const decoded = Buffer.from(run, 'base64').toString('utf8');
    const printable = decoded.replace(/[^\x20-\x7E\n]/g, '').length / Math.max(decoded.length, 1);
    return printable > 0.9 && /[a-z]{3,} [a-z]{2,}/i.test(decoded) ? [decoded] : [];
  });
}

/** The tunable part of the screen: what the evaluation refits per leave-out fold (scripts/eval-guard.ts). */
export interface JailbreakModel {
  /** Noisy-OR weight per signal name; a signal without a weight counts 0 towards the score. */
  readonly weights: Readonly<Record<string, number>>;
  /** Bits per symbol at or above which a window of caller text is an adversarial suffix (adversarial-suffix.ts). */
  readonly suffixBits: number;
}

/**
 * Signals that may trip the screen alone. Each names the attack itself (an override of prior instructions, the DAN
 * persona, a request for or mention of the system prompt, a request to defeat the guardrails, an optimised token suffix); every
 * other signal also occurs in benign text.
 */
export const STRONG_SIGNALS: ReadonlySet<string> = new Set([
  'override_previous_instructions',
  'dan_persona',
  'system_prompt_extraction',
  'guard_evasion_request',
  'system_prompt_reference',
  'adversarial_suffix',
]);

/**
 * Shipped model: the noisy-OR weights and suffix threshold `npm run fit:guard` fits on every caller-screen attack
 * category against benign text (jailbreak-model.generated.ts); eval:guard's leave-out folds repeat the same fit without
 * one category, so the leave-out figure describes the screen that ships. The benign fitting half fires almost no
 * signal, so most weights sit at the cap: in practice the screen trips on a strong signal or on two weighted ones.
 */
export const SHIPPED_MODEL: JailbreakModel = FITTED_MODEL;

export interface JailbreakScore {
  readonly score: number;
  /** Names of the signal families that fired; safe to log (no caller text). */
  readonly signals: readonly string[];
  /** A strong signal or at least two signals fired: only then may the score trip the screen. */
  readonly decisive: boolean;
}

/** The text the signal patterns read: normalised caller text, lower-cased, quotes straightened, whitespace collapsed. */
export const patternText = (visible: string): string => visible.toLowerCase().replace(/[’‘`]/g, "'").replace(/\s+/g, ' ');

/**
 * Combines fired signals under a model: the noisy-OR score, and whether the evidence is decisive (a strong signal, or
 * two signals the model gives weight; a signal weighing nothing is no evidence). `extraWeights` are further noisy-OR
 * terms (a decoded payload's own score).
 */
export function judgeSignals(signals: readonly string[], model: JailbreakModel, extraWeights: readonly number[] = []): JailbreakScore {
  const weights = [...signals.map((name) => model.weights[name] ?? 0), ...extraWeights];
  const score = 1 - weights.reduce((rest, weight) => rest * (1 - weight), 1);
  const weighted = signals.filter((name) => (model.weights[name] ?? 0) > 0);
  const decisive = weighted.length >= 2 || signals.some((name) => STRONG_SIGNALS.has(name));
  return { score: Math.round(score * 1000) / 1000, signals, decisive };
}

/** Scores one caller text in [0, 1]. Exported for the evaluation script, which passes refitted models. */
export function scoreJailbreak(text: string, model: JailbreakModel = SHIPPED_MODEL): JailbreakScore {
  const visible = normaliseText(text);
  const normal = patternText(visible);
  const signals = SIGNALS.filter((signal) => signal.pattern.test(normal)).map((signal) => signal.name);
  if (suffixBits(visible) >= model.suffixBits) signals.push('adversarial_suffix');
  if (visible !== text && hadLookAlikes(text)) signals.push('mixed_script_word');
  const payloads = decodedPayloads(visible);
  if (payloads.length === 0) return judgeSignals(signals, model);
  const inner = payloads.map((payload) => scoreJailbreak(payload, model)).reduce((max, next) => (next.score > max.score ? next : max));
  const judged = judgeSignals([...signals, 'base64_payload', ...inner.signals.map((name) => `base64:${name}`)], model, [inner.score]);
  // An encoded payload that itself carries a signal is two pieces of evidence: the encoding and what it hides.
  return { ...judged, decisive: judged.decisive || inner.signals.length > 0 };
}

/** Whether a scored text trips the screen at `threshold`. */
export const screenTrips = (scored: JailbreakScore, threshold: number): boolean => scored.decisive && scored.score >= threshold;

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
    const tripping = scored.find((entry) => screenTrips(entry, config.threshold));
    if (tripping === undefined) return { tripped: false, reasons: [], score: worst?.score ?? 0 };
    return {
      tripped: true,
      reasons: [`${tripping.path}: jailbreak score ${tripping.score} (${tripping.signals.join(', ')})`],
      score: tripping.score,
    };
  },
};
