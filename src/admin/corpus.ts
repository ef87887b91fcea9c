// Bulk approval shared by the CLI (`airlock corpus approve --all-drafts`) and POST /admin/corpus/approve-drafts.
// Only versions in the draft state are taken: a quarantined version needs a person to read its findings, one at a time.
import { z } from 'zod';
import { isAppError } from '../errors.js';
import type { CorpusDocument } from '../contracts/corpus.js';
import type { Corpus } from '../corpus/corpus.js';

export const ApproveDraftsRequest = z.strictObject({
  collection: z.string().regex(/^[a-z][a-z0-9_-]*$/).max(64).optional().describe('Only drafts of this collection'),
  dry_run: z.boolean().default(false).describe('List what would be approved and change nothing'),
  documents: z
    .array(z.strictObject({ id: z.string().min(1).max(300), version: z.int().min(1) }))
    .min(1)
    .max(500)
    .optional()
    .describe('Only these drafts (the console\'s selection), each pinned to the version the admin saw'),
});
export type ApproveDraftsRequest = z.input<typeof ApproveDraftsRequest>;

export interface DraftApproval {
  readonly document_id: string;
  readonly title: string;
  readonly collection: string;
  readonly version: number;
  /** approved, would_approve (dry run), or failed (it changed since it was listed; the detail says how). */
  readonly outcome: 'approved' | 'would_approve' | 'failed';
  readonly retired_version: number | null;
  readonly detail: string | null;
}

export interface ApproveDraftsResult {
  readonly dry_run: boolean;
  readonly approved: number;
  readonly failed: number;
  readonly documents: readonly DraftApproval[];
}

/**
 * Approves the newest version of every document whose newest version is a draft. Each approval is its own
 * transaction, pinned to the version listed, so a version that arrives meanwhile is never approved unseen.
 */
export async function approveDrafts(corpus: Corpus, request: ApproveDraftsRequest, actor: string): Promise<ApproveDraftsResult> {
  const { collection, dry_run: dryRun, documents: selection } = ApproveDraftsRequest.parse(request);
  const chosen = selection === undefined ? undefined : new Map(selection.map((item) => [item.id, item.version]));
  // A selection reads only the documents it names, not the whole corpus (the console sends a few from 10,000).
  const candidates = selection === undefined ? await corpus.listDocuments(collection === undefined ? {} : { collection }) : await existingDocuments(corpus, selection.map((item) => item.id));
  // A selected document whose newest version moved on since the admin saw it is not approved unseen: it is left out.
  const drafts = candidates.filter(
    (document) =>
      document.latestState === 'draft' &&
      (collection === undefined || document.collection === collection) &&
      (chosen === undefined || chosen.get(document.id) === document.latestVersion),
  );
  const documents: DraftApproval[] = [];
  for (const document of drafts) {
    const base = { document_id: document.id, title: document.title, collection: document.collection, version: document.latestVersion };
    if (dryRun) {
      documents.push({ ...base, outcome: 'would_approve', retired_version: null, detail: null });
      continue;
    }
    try {
      const result = await corpus.approve(document.id, document.latestVersion, actor);
      documents.push({ ...base, outcome: 'approved', retired_version: result.retiredVersion, detail: null });
    } catch (error) {
      if (!isAppError(error)) throw error;
      documents.push({ ...base, outcome: 'failed', retired_version: null, detail: error.detail ?? error.message });
    }
  }
  return {
    dry_run: dryRun,
    approved: documents.filter((document) => document.outcome === 'approved').length,
    failed: documents.filter((document) => document.outcome === 'failed').length,
    documents,
  };
}

/** The named documents that exist; an id deleted since it was selected is simply not there. */
async function existingDocuments(corpus: Corpus, ids: readonly string[]): Promise<CorpusDocument[]> {
  const found: CorpusDocument[] = [];
  for (const id of ids) {
    try {
      found.push(await corpus.getDocument(id));
    } catch (error) {
      if (!(isAppError(error) && error.code === 'not_found')) throw error;
    }
  }
  return found;
}

/** The audit detail of a bulk approval: which versions, so a later reader can tell what was approved unseen. */
export const draftApprovalAudit = (request: ApproveDraftsRequest, result: ApproveDraftsResult): Record<string, unknown> => ({
  ...(request.collection === undefined ? {} : { collection: request.collection }),
  dry_run: result.dry_run,
  approved: result.approved,
  failed: result.failed,
  documents: result.documents.map((document) => `${document.document_id}@${document.version}`),
});
