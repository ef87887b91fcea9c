// Ingest-time prompt-injection scan of corpus chunks (PI-4, LLM04-2): pattern families with named reasons, no model.
import type { ScanFinding } from './types.js';

interface Rule {
  readonly reason: string;
  readonly test: (text: string) => boolean;
}

const matches = (pattern: RegExp) => (text: string) => pattern.test(text);

// Nouns that name what the assistant produces; "your reply" inside an instruction is the tell of text aimed at a model.
const OUTPUT_NOUN =
  "(?:answers?|responses?|repl(?:y|ies)|outputs?|messages?|solutions?|code(?:base)?|implementation|algorithm|elucidation|explanation|summary|translation|completion|text|reply's|response's|answer's)";
const ADDRESSEE = new RegExp(`\\b(?:your|the assistant's|the model's|the AI's)\\s+(?:\\w+\\s+)?${OUTPUT_NOUN}\\b`, 'i');
const INSTRUCTION_VERB =
  /\b(?:add|append|include|insert|integrate|incorporate|introduce|embed|merge|blend|fuse|meld|weave|infuse|inject|modify|augment|enhance|enrich|replace|substitute|convert|render|rewrite|remove|combine|group|scramble|jumble|rearrange|misspell|anagram|use|utili[sz]e|employ|leverage|adopt|deploy|enlist|engage|absorb|execute|ensure|make|keep|provide|give|write|respond|reply|answer|start|end|begin|finish|format|translate|mention|suggest|promote|encourage|invite|express|highlight|emphasi[sz]e|stress|tease|hint|direct|link|recommend|consider)\b/i;

// A task handed to whoever reads the text, opening a sentence: "Write a poem...", "Translate the following...".
const TASK_OPENER =
  /(?:^|[.!?:\n]\s*|\bplease\s+)(?:now\s+|also\s+|then\s+)?(?:write|compose|draft|translate|explain|describe|summari[sz]e|paraphrase|outline|generate|elaborate on|discuss|brainstorm|list|define|critique|analy[sz]e|develop|create|produce|provide|give|tell|show|teach|break down|compare|recite|pretend|act as|roleplay|imagine)\s+(?:me\s+|us\s+)?(?:a|an|the|some|how|what|why|who|in|me|your|about|this|that|these|\d+|[a-z]+ing)\b/i;

// A general-knowledge question put to the reader ("What is the capital of Brazil?"), or a request to the assistant.
const QUESTION_TO_READER =
  /(?:^|[.!?:\n]\s*)(?:can|could|would|will) you\s+(?:please\s+)?(?:show|tell|explain|give|provide|write|help|describe|list|translate|recommend|suggest|summari[sz]e|create|generate|compose|draft)\b|(?:^|[.!?\n]\s*)(?:what(?:'s| is| are| was| were)|who (?:wrote|is|was|invented|discovered|painted)|how (?:do|does|did|can) (?:i|you|we|one)|why (?:do|does|is|are)|when (?:did|was|is)|where (?:is|are|was|did))\b[^.!?\n]{3,160}\?/i;

const RULES: readonly Rule[] = [
  {
    reason: 'override_instructions',
    test: matches(
      /\b(?:ignore|disregard|forget|override|bypass|skip|do not follow|don't follow|stop following)\b[^.\n]{0,40}\b(?:previous|prior|above|earlier|preceding|all|any|your|the|system|original|initial)\b[^.\n]{0,30}\b(?:instructions?|prompts?|rules|directions|guidelines|context|messages?|constraints|polic(?:y|ies))\b|\b(?:new|updated|real|actual|hidden|secret) (?:instructions?|task|system prompt)\s*[:-]|\byou are now\b|\bfrom now on\b[^.\n]{0,40}\byou\b|\b(?:reveal|print|repeat|output|show) (?:your|the) (?:system )?(?:prompt|instructions)\b/i,
    ),
  },
  {
    reason: 'role_marker',
    test: matches(
      /(?:^|\n)\s*(?:system|assistant|developer|user)\s*:|#{2,}\s*(?:instruction|system|response|assistant)s?\b|<\|(?:im_start|im_end|system|user|assistant|endoftext)\|>|\[\/?INST\]|<<\/?SYS>>|<\/?(?:system|instructions?)>/i,
    ),
  },
  { reason: 'instruction_to_assistant', test: (text) => sentences(text).some((s) => ADDRESSEE.test(s) && INSTRUCTION_VERB.test(s)) },
  {
    reason: 'embedded_content_instruction',
    test: matches(
      /\b(?:the )?(?:following|subsequent|below|above|next)\s+(?:code|snippet|sentence|text|paragraph|phrase|link|url|block|excerpt|section)\b[^.\n]{0,60}\b(?:into|in|to|within|as part of|as a part of)\s+(?:your|the)\b|\b(?:following|subsequent|below)\s+(?:code\s+)?(?:code|snippet|block|excerpt|section)\s*:\s*(?:\n|```)/i,
    ),
  },
  { reason: 'task_for_reader', test: matches(TASK_OPENER) },
  { reason: 'question_to_reader', test: matches(QUESTION_TO_READER) },
  {
    reason: 'exfiltration_link',
    test: matches(
      /!\[[^\]]*\]\(\s*(?:https?:)?\/\/[^)\s]*\?[^)\s]*\)|(?:https?:)?\/\/[^\s)"'<>]+\?[^\s)"'<>]*(?:\{|%7B|\$\{|\[|<)[^\s]*|<img\b[^>]*\bsrc\s*=\s*["']?https?:\/\/[^"'\s>]*\?/i,
    ),
  },
  { reason: 'encoded_payload', test: matches(/(?:[A-Za-z0-9+/]{80,}={0,2})|(?:\b(?:0x)?[0-9a-fA-F]{64,}\b)/) },
];

const sentences = (text: string): string[] => text.split(/(?<=[.!?])\s+|\n+/);

/** Reasons one chunk trips; empty when clean. */
export function scanText(text: string): string[] {
  return RULES.filter((rule) => rule.test(text)).map((rule) => rule.reason);
}

export interface ExtractionSignals {
  /** Invisible characters removed during normalisation that hid text (tag characters, BiDi overrides, runs). */
  readonly hiddenByInvisibles: number;
  /** HTML elements dropped because they were hidden. */
  readonly hiddenElements: number;
}

/**
 * Findings for a document version. Extraction findings (hidden text) apply to the whole document and use ordinal -1,
 * because the hidden text itself was removed and belongs to no chunk.
 */
export function scanChunks(chunks: readonly { ordinal: number; text: string }[], signals: ExtractionSignals): ScanFinding[] {
  const documentReasons = [
    ...(signals.hiddenByInvisibles > 0 ? [`invisible_characters:${signals.hiddenByInvisibles}`] : []),
    ...(signals.hiddenElements > 0 ? [`hidden_html_elements:${signals.hiddenElements}`] : []),
  ];
  const findings: ScanFinding[] = documentReasons.length > 0 ? [{ ordinal: -1, reasons: documentReasons }] : [];
  for (const chunk of chunks) {
    const reasons = scanText(chunk.text);
    if (reasons.length > 0) findings.push({ ordinal: chunk.ordinal, reasons });
  }
  return findings;
}
