// Ingestion before any write: checking an upload (size, media type, UTF-8, metadata), extracting its visible text,
// chunking, scanning (patterns, and the model screen when configured) and embedding it. The store then only persists the resulting rows (store/corpus.ts NewVersion).
import { AppError } from '../errors.js';
import { CollectionName, ContentType, DocumentId } from '../contracts/corpus.js';
import { chunkId, chunkText, sha256Hex } from '../retrieval/chunking.js';
import { scanChunks } from '../retrieval/injection-scan.js';
import { BUDGET_EXHAUSTED, screenChunks, type TextScreen } from '../guard/model-screen.js';
import { POLICIES } from '../security/rate-limit.js';
import { htmlToText, normaliseCorpusText } from '../retrieval/text.js';
import type { ChunkDraft, ChunkingSettings, Embedder, ScanFinding } from '../retrieval/types.js';
import type { NewVersion } from '../store/corpus.js';

export interface IngestInput {
  readonly id?: string;
  readonly collection: string;
  readonly source: string;
  readonly owner: string;
  readonly title: string;
  /** Raw upload; bytes are hashed as received (LLM04-1) and must be UTF-8 text. */
  readonly content: string | Uint8Array;
  readonly contentType: string;
  readonly actor: string;
  /** Approve at once when the scan is clean; a flagged version is quarantined regardless. */
  readonly approve?: boolean;
}

export const DEFAULT_MAX_DOCUMENT_BYTES = 2 * 1024 * 1024;

/** Checks an upload before any work is done; every failure leaves the store untouched. */
function decodeUpload(input: IngestInput, maxBytes: number): { raw: string; bytes: Uint8Array; contentType: ContentType } {
  const contentType = ContentType.safeParse(input.contentType);
  if (!contentType.success) {
    throw new AppError('unsupported_media_type', { detail: `content type must be one of ${ContentType.options.join(', ')}` });
  }
  const bytes = typeof input.content === 'string' ? new TextEncoder().encode(input.content) : input.content;
  if (bytes.byteLength > maxBytes) {
    throw new AppError('payload_too_large', { detail: `document is ${bytes.byteLength} bytes; the limit is ${maxBytes}` });
  }
  if (bytes.includes(0)) throw new AppError('unsupported_media_type', { detail: 'document contains NUL bytes (binary content)' });
  let raw: string;
  try {
    raw = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new AppError('unsupported_media_type', { detail: 'document is not valid UTF-8 text' });
  }
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is being detected
  const controls = raw.match(/[\u0001-\u0008\u000E-\u001F\u007F]/g)?.length ?? 0;
  if (controls > 0 && controls > raw.length / 100) {
    throw new AppError('unsupported_media_type', { detail: 'document looks binary (control characters)' });
  }
  return { raw, bytes, contentType: contentType.data };
}

function validateMetadata(input: IngestInput, id: string): void {
  const errors = [
    ...(DocumentId.safeParse(id).success ? [] : [{ path: 'id', message: 'must match ^[a-z0-9][a-z0-9._-]*$ (max 128)' }]),
    ...(CollectionName.safeParse(input.collection).success ? [] : [{ path: 'collection', message: 'must match ^[a-z][a-z0-9_-]*$' }]),
    ...(['source', 'owner', 'title', 'actor'] as const)
      .filter((field) => input[field].trim() === '' || input[field].length > 2000)
      .map((field) => ({ path: field, message: 'must be 1 to 2000 characters' })),
  ];
  if (errors.length > 0) throw new AppError('validation_failed', { detail: 'invalid document metadata', errors });
}

/** Visible, normalised text plus what extraction had to hide; markdown may carry raw HTML, so it is reduced too. */
function extract(raw: string, contentType: ContentType): { text: string; hiddenByInvisibles: number; hiddenElements: number } {
  const normalised = normaliseCorpusText(raw);
  const hasHtml = contentType === 'html' || (contentType === 'markdown' && /<[a-z][^>]*>/i.test(normalised.text));
  if (!hasHtml) return { text: normalised.text.trim(), hiddenByInvisibles: normalised.hiddenByInvisibles, hiddenElements: 0 };
  const html = htmlToText(normalised.text);
  return { text: html.text, hiddenByInvisibles: normalised.hiddenByInvisibles, hiddenElements: html.hiddenElements };
}

/** Everything an ingest does before touching the database: validation, extraction, chunking, the scan and embedding. */
export async function prepareVersion(
  input: IngestInput,
  options: { readonly embedder: Embedder; readonly chunking: ChunkingSettings; readonly maxBytes: number; readonly newId: () => string; readonly screen?: TextScreen | undefined },
): Promise<NewVersion> {
  const { raw, bytes, contentType } = decodeUpload(input, options.maxBytes);
  const documentId = input.id ?? options.newId();
  validateMetadata(input, documentId);
  const extracted = extract(raw, contentType);
  if (extracted.text === '') throw new AppError('validation_failed', { detail: 'document has no visible text' });
  const drafts = chunkText(extracted.text, options.chunking);
  const findings = mergeFindings(scanChunks(drafts, extracted), options.screen === undefined ? [] : await screenedFindings(options.screen, drafts, input.actor));
  const vectors = await options.embedder.embed(drafts.map((d) => d.text));
  return {
    documentId,
    collection: input.collection,
    source: input.source,
    owner: input.owner,
    title: input.title,
    actor: input.actor,
    contentType,
    sha256: sha256Hex(bytes),
    bytes: bytes.byteLength,
    text: extracted.text,
    chunking: options.chunking,
    findings,
    chunks: drafts.map((draft, i) => ({
      ordinal: draft.ordinal,
      chunkId: chunkId(documentId, draft.ordinal, draft.text),
      text: draft.text,
      embedding: vectors[i] as Float32Array,
    })),
    approve: input.approve === true,
  };
}

/**
 * LLM04-2, PI-4: the model screen's findings for every chunk, under the ingesting actor's budget. An unsafe verdict is a
 * finding (the version is quarantined for a person); no verdict refuses the upload, so nothing unscreened is stored
 * and the same upload can simply be retried.
 */
async function screenedFindings(screen: TextScreen, drafts: readonly ChunkDraft[], actor: string): Promise<readonly ScanFinding[]> {
  const screening = await screenChunks(screen, drafts, actor);
  if (screening.kind === 'screened') return screening.findings;
  const retryAfter = { 'Retry-After': String(screening.retryAfterSeconds) };
  if (screening.reason === BUDGET_EXHAUSTED) {
    throw new AppError('quota_exceeded', { detail: 'The model screen call budget of this actor is spent for now; nothing was stored.', headers: retryAfter, extensions: { 'violated-policies': [POLICIES.screenCalls.name] } });
  }
  throw new AppError('screen_unavailable', {
    detail: `The model screen could not decide on this document (${screening.reason}); nothing was stored. Retry the upload later.`,
    headers: retryAfter,
  });
}

/** One finding per ordinal, the pattern scan's reasons first. */
function mergeFindings(scanned: readonly ScanFinding[], screened: readonly ScanFinding[]): ScanFinding[] {
  const byOrdinal = new Map<number, string[]>();
  for (const finding of [...scanned, ...screened]) byOrdinal.set(finding.ordinal, [...(byOrdinal.get(finding.ordinal) ?? []), ...finding.reasons]);
  return [...byOrdinal].sort(([a], [b]) => a - b).map(([ordinal, reasons]) => ({ ordinal, reasons }));
}
