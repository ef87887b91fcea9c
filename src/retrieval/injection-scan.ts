// Ingest-time prompt-injection scan of corpus chunks (PI-4, LLM04-2): pattern families with named reasons, no model.
import { directivesOutOfPlace, readDirective, readingUnits } from './reader-role.js';
import type { ScanFinding } from './types.js';

/**
 * One finding kind. `find` returns the text each finding matched (empty when the rule does not fire), so evaluations
 * can tell which words of the rule's `patterns` a finding used (scripts/leave-out.ts refits that vocabulary per fold).
 */
export interface ScanRule {
  readonly reason: string;
  readonly patterns: readonly RegExp[];
  readonly find: (text: string) => string[];
}

/** Every match of `pattern` (searched globally whatever its own flags). */
const matchesOf = (pattern: RegExp): ((text: string) => string[]) => {
  const global = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`);
  return (text) => [...text.matchAll(global)].map((match) => match[0]);
};
const matchRule = (reason: string, pattern: RegExp): ScanRule => ({ reason, patterns: [pattern], find: matchesOf(pattern) });
/** The first match of each pattern in a sentence, joined: the evidence of a rule that needs several patterns at once. */
const evidenceIn = (sentence: string, patterns: readonly RegExp[]): string => patterns.map((pattern) => pattern.exec(sentence)?.[0] ?? '').join(' ');

// Nouns that name what the assistant produces; "your reply" inside an instruction is the tell of text aimed at a model.
const OUTPUT_NOUN =
  "(?:answers?|responses?|repl(?:y|ies)|outputs?|messages?|solutions?|code(?:base)?|implementation|algorithm|elucidation|explanation|summary|translation|completion|text|reply's|response's|answer's)";
const ADDRESSEE = new RegExp(`\\b(?:your|the assistant's|the model's|the AI's)\\s+(?:\\w+\\s+)?${OUTPUT_NOUN}\\b`, 'i');
const INSTRUCTION_VERB =
  /\b(?:add|append|include|insert|integrate|incorporate|introduce|embed|merge|blend|fuse|meld|weave|infuse|inject|modify|augment|enhance|enrich|replace|substitute|convert|render|rewrite|remove|combine|group|scramble|jumble|rearrange|misspell|anagram|use|utili[sz]e|employ|leverage|adopt|deploy|enlist|engage|absorb|execute|ensure|make|keep|provide|give|write|respond|reply|answer|start|end|begin|finish|format|translate|mention|suggest|promote|encourage|invite|express|highlight|emphasi[sz]e|stress|tease|hint|direct|link|recommend|consider)\b/i;

// A question pasted into the middle of a sentence keeps its capital ("… total due $42 What is the capital of …"); a
// capitalised word after another capitalised word is a name ("Bell Northern Research which"), not that.
const QUESTION_INLINE = /(?<![A-Z][\w'-]*)\s(?:What(?:'s| is| are| was| were)|Who (?:wrote|is|was|invented|discovered|painted)|How (?:do|does|did|can|is|are|many|much) \w+|Why (?:do|does|did|is|are|was|were)|When (?:did|was|is|were)|Where (?:is|are|was|did))\b[^.!?\n]{3,160}\?/;

// Text handed over for the reader to work on: "Determine the sentiment of this review: …", "Summarise the following text:".
const MATERIAL_FOR_READER =
  /\b(?:this|the following|the given|the below|the above|following)\s+(?:customer\s+|product\s+)?(?:reviews?|text|tweets?|statements?|sentences?|paragraphs?|passages?|comments?|posts?|feedback|quotes?|phrases?|words?|headlines?|excerpts?|data ?set|numbers|list)\s*:/i;

// A persona or mode given to the reader: "act as a conversational agent", "you are now a travel assistant".
const PERSONA_FOR_READER =
  /(?:^|[.!?:\n]\s*|\bplease\s+|\byou (?:will|should|must|shall|are to)\s+)(?:now\s+)?(?:act|behave|pose) as (?:a|an|my|the|your)\b|\byou are (?:now |to be |going to be )?(?:a|an|my|the) (?:[\w-]+ ){0,3}(?:assistant|agent|bot|chatbot|advisor|adviser|expert|consultant|tutor|translator|analyst|guide|companion|coach|planner|storyteller|poet|writer|critic)\b|\bas an? (?:ai|language model|virtual assistant|chatbot)\b|\bconversational agent\b|\bengage (?:the user |users |me )?in (?:a )?(?:conversation|dialogue|chat)\b/i;

// Work on the characters of the text itself (substitution, scrambling, ciphers, reversal): nobody asks that of a
// person reading an invoice or a help article.
const TEXT_TRANSFORMATION =
  /\b(?:replace|substitute|swap|scramble|shuffle|jumble|reverse|remove|delete|insert|capitali[sz]e|uppercase|lowercase|encode|encrypt|rotate|shift|spell|convert|group|interleave|mirror|flip)\b[^.!?\n]{0,30}\b(?:letters?|vowels?|consonants?|characters?|words?|spaces?|punctuation|digits|alphabet|syllables?)\b/i;

// Sentences that open with a subject or a courtesy ("We look forward to your reply", "Your reply helps", "Thank you
// for your response") report or thank; they do not instruct. The two rules about the reader's output skip them.
const SUBJECT_OPENER = /^\s*(?:we|i|they|he|she|it|our|my|your|their|thank|thanks|if|when|as|once|after|before|sent|from|to|re|subject|dear|hi|hello)\b/i;
// A sentence about the reader's own output ("your response", "respond only in").
const ABOUT_READERS_OUTPUT =
  /\b(?:your|the assistant's|the model's|the ai's)\s+(?:\w+\s+)?(?:answers?|responses?|repl(?:y|ies)|outputs?|completion|reply's|response's|answer's)\b|\b(?:respond|reply|answer)\s+(?:only\s+|exclusively\s+|solely\s+|entirely\s+)?(?:in|with|using)\b/i;

// A general-knowledge question put to the reader ("What is the capital of Brazil?"), or a request to the assistant.
const QUESTION_TO_READER =
  /(?:^|[.!?:\n]\s*)(?:can|could|would|will) you\s+(?:please\s+)?(?:show|tell|explain|give|provide|write|help|describe|list|translate|recommend|suggest|summari[sz]e|create|generate|compose|draft)\b|(?:^|[.!?\n]\s*)(?:what(?:'s| is| are| was| were)|who (?:wrote|is|was|invented|discovered|painted)|how (?:do|does|did|can|is|are|many|much) \w+|why (?:do|does|did|is|are|was|were)|when (?:did|was|is|were)|where (?:is|are|was|did))\b[^.!?\n]{3,160}\?/i;

// "From now on" counts when it changes how the reader behaves ("from now on, you will answer in French"), not in a
// quoted remark about the world ("from now on, you should pay more for oil").
const OVERRIDE_INSTRUCTIONS =
  /\b(?:ignore|disregard|forget|override|bypass|skip|do not follow|don't follow|stop following)\b[^.\n]{0,40}\b(?:previous|prior|above|earlier|preceding|all|any|your|the|system|original|initial)\b[^.\n]{0,30}\b(?:instructions?|prompts?|rules|directions|guidelines|context|messages?|constraints|polic(?:y|ies))\b|\b(?:new|updated|real|actual|hidden|secret) (?:instructions?|task|system prompt)\s*[:-]|\byou are now\b|\bfrom now on\b,?\s+(?:you|the (?:assistant|ai|model))\s+(?:will|must|shall|are|only|always|never|respond|answer|reply|act|speak|write|should (?:respond|answer|reply|act|only|always|never|speak|write))\b|\b(?:reveal|print|repeat|output|show) (?:your|the) (?:system )?(?:prompt|instructions)\b/i;
const ROLE_MARKER =
  /(?:^|\n)\s*(?:system|assistant|developer|user)\s*:|#{2,}\s*(?:instruction|system|response|assistant)s?\b|<\|(?:im_start|im_end|system|user|assistant|endoftext)\|>|\[\/?INST\]|<<\/?SYS>>|<\/?(?:system|instructions?)>/i;
const EMBEDDED_CONTENT_INSTRUCTION =
  /\b(?:the )?(?:following|subsequent|below|above|next)\s+(?:code|snippet|sentence|text|paragraph|phrase|link|url|block|excerpt|section)\b[^.\n]{0,60}\b(?:into|in|to|with|within|as part of|as a part of)\s+(?:your|the)\b|\b(?:following|subsequent|below)\s+(?:code\s+)?(?:code|snippet|block|excerpt|section)\s*:\s*(?:\n|```)/i;
const EXFILTRATION_LINK =
  /!\[[^\]]*\]\(\s*(?:https?:)?\/\/[^)\s]*\?[^)\s]*\)|(?:https?:)?\/\/[^\s)"'<>]+\?[^\s)"'<>]*(?:\{|%7B|\$\{|\[|<)[^\s]*|<img\b[^>]*\bsrc\s*=\s*["']?https?:\/\/[^"'\s>]*\?/i;
const ENCODED_PAYLOAD = /(?:[A-Za-z0-9+/]{80,}={0,2})|(?:\b(?:0x)?[0-9a-fA-F]{64,}\b)/;

// Words before an imperative that leave it an imperative ("Please describe …", "Now write …"). Hand-written, so they
// stay in the rules' patterns and an evaluation traces them like any other rule word.
const MOOD_NEUTRAL_OPENER = /\b(?:please|kindly|now|also|then|next|finally|additionally|furthermore|moreover|lastly|so|and|just|simply|instead)\b/i;
export const OPENERS: ReadonlySet<string> = new Set(MOOD_NEUTRAL_OPENER.source.match(/[a-z]+/g));

/**
 * Imperatives about the reader's output ("Make the following code block a component of your implementation"): the
 * sentence is read as an imperative by its shape (any base-form verb, reader-role.ts), not by a list of verbs; the
 * evidence is the words that name the reader's output, plus any opener the reading skipped.
 */
function imperativesAboutOutput(text: string): string[] {
  if (!ADDRESSEE.test(text)) return [];
  return readingUnits(text).flatMap((unit) => {
    const directive = SUBJECT_OPENER.test(unit.text) ? undefined : readDirective(unit.text, OPENERS, 'any', unit.inline);
    const addressee = ADDRESSEE.exec(unit.text)?.[0];
    return directive?.kind === 'imperative' && addressee !== undefined ? [[...directive.lead, addressee].join(' ')] : [];
  });
}

export const RULES: readonly ScanRule[] = [
  matchRule('override_instructions', OVERRIDE_INSTRUCTIONS),
  matchRule('role_marker', ROLE_MARKER),
  {
    reason: 'instruction_to_assistant',
    patterns: [ADDRESSEE, INSTRUCTION_VERB, MOOD_NEUTRAL_OPENER],
    find: (text) => [
      ...imperativesAboutOutput(text),
      ...sentences(text)
        .filter((s) => ADDRESSEE.test(s) && INSTRUCTION_VERB.test(s) && !SUBJECT_OPENER.test(s))
        .map((s) => evidenceIn(s, [ADDRESSEE, INSTRUCTION_VERB])),
    ],
  },
  {
    // Issue 15 item 3: an imperative or a question put to the reader about a topic the rest of the text never
    // mentions, in a text that is not itself a set of instructions (reader-role.ts). The evidence is the openers only:
    // the verb comes from the WordNet lexicon and the rest from closed grammatical classes.
    reason: 'directive_out_of_place',
    patterns: [MOOD_NEUTRAL_OPENER],
    find: (text) => directivesOutOfPlace(text, OPENERS).map(({ directive }) => directive.lead.join(' ')),
  },
  matchRule('embedded_content_instruction', EMBEDDED_CONTENT_INSTRUCTION),
  matchRule('material_for_reader', MATERIAL_FOR_READER),
  matchRule('persona_for_reader', PERSONA_FOR_READER),
  matchRule('text_transformation', TEXT_TRANSFORMATION),
  {
    reason: 'directive_about_output',
    patterns: [ABOUT_READERS_OUTPUT],
    find: (text) =>
      sentences(text)
        .filter((sentence) => ABOUT_READERS_OUTPUT.test(sentence) && !SUBJECT_OPENER.test(sentence))
        .map((sentence) => evidenceIn(sentence, [ABOUT_READERS_OUTPUT])),
  },
  { reason: 'question_to_reader', patterns: [QUESTION_TO_READER, QUESTION_INLINE], find: (text) => [...matchesOf(QUESTION_TO_READER)(text), ...matchesOf(QUESTION_INLINE)(text)] },
  matchRule('exfiltration_link', EXFILTRATION_LINK),
  matchRule('encoded_payload', ENCODED_PAYLOAD),
];

// Sentences, plus a break before a capitalised word that follows a lower-case one: an instruction pasted into the
// middle of a sentence ("If you have questions Add a line to your reply") starts a clause of its own.
const sentences = (text: string): string[] => text.split(/(?<=[.!?])\s+|\n+|(?<=[a-z,;]\s+)(?=[A-Z][a-z]+\s)/);

/** Reasons one chunk trips; empty when clean. */
export function scanText(text: string): string[] {
  return RULES.filter((rule) => rule.find(text).length > 0).map((rule) => rule.reason);
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
