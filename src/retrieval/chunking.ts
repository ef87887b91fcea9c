// Splits normalised document text into overlapping, sentence-aligned chunks with ids that survive re-indexing.
import { createHash } from 'node:crypto';
import type { ChunkDraft, ChunkingSettings } from './types.js';

export const DEFAULT_CHUNKING: ChunkingSettings = { maxChars: 1000, overlapSentences: 1 };

const BLOCK_START = /^\s*(?:#{1,6}\s|[-*+]\s|\d+[.)]\s|>|```|\|)/;
// A sentence ends at . ! ? (plus closing quotes/brackets) followed by space and something that can open a sentence.
const SENTENCE_END = /(?<=[.!?]["'”’)\]]*)\s+(?=["'“‘(\[]?[\p{Lu}\p{N}])/u;

/** Sentences in reading order; markdown block lines (headings, list items, fences) stay separate units. */
export function splitSentences(text: string): string[] {
  const units: string[] = [];
  for (const paragraph of text.split(/\n\s*\n/)) {
    let current = '';
    for (const line of paragraph.split('\n')) {
      if (BLOCK_START.test(line) && current !== '') {
        units.push(current);
        current = '';
      }
      // Line breaks are kept: the scanner reads a new line as a possible new sentence.
      current = current === '' ? line.trim() : `${current}\n${line.trim()}`;
    }
    if (current !== '') units.push(current);
  }
  return units.flatMap((unit) => unit.split(SENTENCE_END)).map((s) => s.trim()).filter((s) => s !== '');
}

/** A sentence longer than a chunk is cut at whitespace so no chunk exceeds maxChars (unless one word does). */
function hardWrap(sentence: string, maxChars: number): string[] {
  if (sentence.length <= maxChars) return [sentence];
  const pieces: string[] = [];
  let rest = sentence;
  while (rest.length > maxChars) {
    const cut = rest.lastIndexOf(' ', maxChars);
    const at = cut > maxChars / 2 ? cut : maxChars;
    pieces.push(rest.slice(0, at).trim());
    rest = rest.slice(at).trim();
  }
  if (rest !== '') pieces.push(rest);
  return pieces;
}

export function chunkText(text: string, settings: ChunkingSettings): ChunkDraft[] {
  const sentences = splitSentences(text).flatMap((s) => hardWrap(s, settings.maxChars));
  const chunks: string[][] = [];
  let current: string[] = [];
  let length = 0;
  let fresh = 0;
  for (const sentence of sentences) {
    if (fresh > 0 && length + 1 + sentence.length > settings.maxChars) {
      chunks.push(current);
      current = settings.overlapSentences > 0 ? current.slice(-settings.overlapSentences) : [];
      length = current.reduce((sum, s) => sum + s.length + 1, 0);
      while (current.length > 0 && length + sentence.length > settings.maxChars) {
        length -= (current.shift() ?? '').length + 1;
      }
      fresh = 0;
    }
    current.push(sentence);
    length += sentence.length + 1;
    fresh += 1;
  }
  if (fresh > 0) chunks.push(current);
  return chunks.map((parts, ordinal) => ({ ordinal, text: parts.join(' ') }));
}

export const sha256Hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/**
 * Same document, same ordinal and same text give the same id, so re-indexing (new embedder, new process) and
 * rolling back to an older content keep citations valid; it is not unique across versions of one document.
 */
export const chunkId = (documentId: string, ordinal: number, text: string): string =>
  `${documentId}#${ordinal}-${sha256Hex(text).slice(0, 16)}`;
