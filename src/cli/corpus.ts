// `airlock corpus …`: ingest a folder or file, sync a WordPress site, list, approve (one or every draft), retire and
// reindex. Each change is audited (actor `cli`); ingest and sync end with one summary line and exit 1 if a file was refused.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { approveDrafts, draftApprovalAudit } from '../admin/corpus.js';
import { ingestPath } from '../corpus/files.js';
import { syncWordPress, WORDPRESS_TYPES, type WordPressType } from '../corpus/wordpress.js';
import type { Runtime } from '../runtime.js';
import type { IngestResult } from '../store/corpus.js';
import { audited, CLI_ACTOR, need, UsageError } from './common.js';
import { print, progressBar, step, table, type CliIO } from './output.js';

export interface CorpusCommandOptions {
  readonly collection?: string | undefined;
  readonly owner?: string | undefined;
  readonly approve: boolean;
  readonly version?: string | undefined;
  readonly 'all-drafts': boolean;
  readonly 'dry-run': boolean;
  readonly url?: string | undefined;
  readonly type?: string | undefined;
  readonly user?: string | undefined;
  readonly 'app-password'?: string | undefined;
}

/** One ingested (or refused) item as the CLI reports it: a file path or a WordPress permalink. */
interface ItemRow {
  readonly path: string;
  readonly document: string | null;
  readonly version: number | null;
  readonly state: string;
  readonly detail: string | null;
}

const itemRow = (path: string, document: string | null, outcome: { readonly result?: IngestResult; readonly error?: { readonly detail: string } }): ItemRow => ({
  path,
  document: outcome.result?.document.id ?? document,
  version: outcome.result?.version.version ?? null,
  state: outcome.result === undefined ? 'refused' : outcome.result.created ? outcome.result.version.state : 'unchanged',
  detail: outcome.error?.detail ?? (outcome.result?.version.findings.length ? outcome.result.version.findings.flatMap((finding) => finding.reasons).join('; ') : null),
});

interface Summary {
  readonly ingested: number;
  readonly unchanged: number;
  readonly refused: number;
  readonly quarantined: number;
}

/** `412 ingested, 3 unchanged, 2 refused, 1 quarantined`: quarantined versions are counted apart from the clean ones. */
function summarise(rows: readonly ItemRow[]): Summary {
  const count = (...states: string[]) => rows.filter((row) => states.includes(row.state)).length;
  return { ingested: count('draft', 'approved'), unchanged: count('unchanged'), refused: count('refused'), quarantined: count('quarantined') };
}
const summaryLine = (summary: Summary): string =>
  `${summary.ingested} ingested, ${summary.unchanged} unchanged, ${summary.refused} refused, ${summary.quarantined} quarantined`;

/** People see what needs them (refusals with the reason, quarantines with the findings) and the summary; --json gets every row. */
function reportItems(io: CliIO, rows: readonly ItemRow[], extra: Record<string, unknown> = {}, trailer: readonly string[] = []): Summary {
  const summary = summarise(rows);
  const attention = rows.filter((row) => row.state === 'refused' || row.state === 'quarantined');
  print(io, { summary, ...extra, items: rows }, () =>
    [...(attention.length === 0 ? [] : [table(attention, ['state', 'path', 'detail']), '']), ...trailer, summaryLine(summary)].join('\n'),
  );
  return summary;
}

const parseTypes = (value: string | undefined): WordPressType[] => {
  const types = (value ?? WORDPRESS_TYPES.join(',')).split(',').map((type) => type.trim()).filter(Boolean);
  const unknown = types.filter((type) => !(WORDPRESS_TYPES as readonly string[]).includes(type));
  if (types.length === 0 || unknown.length > 0) throw new UsageError(`--type takes ${WORDPRESS_TYPES.join(',')} (got ${value ?? ''})`);
  return [...new Set(types)] as WordPressType[];
};

/** Runs one `corpus` action on an open runtime. */
export async function corpusCommand(action: string, target: string | undefined, options: CorpusCommandOptions, runtime: Runtime, io: CliIO): Promise<number> {
  const { corpus } = runtime;
  switch (action) {
    case 'ingest': {
      const path = resolve(need(target, 'path'));
      if (!existsSync(path)) throw new UsageError(`no file or folder at ${path}`);
      const bar = progressBar(io, 'ingesting');
      const summary = await audited(
        runtime,
        'corpus ingest',
        async () => {
          const outcomes = await ingestPath(corpus, path, {
            approve: options.approve,
            actor: CLI_ACTOR,
            ...(options.collection === undefined ? {} : { collection: options.collection }),
            ...(options.owner === undefined ? {} : { owner: options.owner }),
            onProgress: (event) => bar(event.index + 1, event.total),
          });
          return reportItems(io, outcomes.map((outcome) => itemRow(outcome.path, null, outcome)));
        },
        (result) => ({ path, ...result }),
      );
      return summary.refused > 0 ? 1 : 0;
    }
    case 'sync': {
      if (target !== 'wordpress') throw new UsageError(`sync takes a source: airlock corpus sync wordpress --url URL --collection C (got ${target ?? 'nothing'})`);
      if ((options.user === undefined) !== (options['app-password'] === undefined)) throw new UsageError('pass --user and --app-password together');
      const request = {
        url: need(options.url, '--url'),
        collection: need(options.collection, '--collection'),
        types: parseTypes(options.type),
        ...(options.user === undefined || options['app-password'] === undefined ? {} : { credentials: { user: options.user, appPassword: options['app-password'] } }),
      };
      const bar = progressBar(io, 'syncing');
      const done = step(io, `reading ${request.url}`);
      const result = await audited(
        runtime,
        'corpus sync wordpress',
        async () => {
          const synced = await syncWordPress(corpus, { ...request, owner: options.owner ?? CLI_ACTOR, actor: CLI_ACTOR, fetch: globalThis.fetch, onProgress: (event) => bar(event.index + 1, event.total) });
          const rows = synced.items.map((item) => itemRow(item.source, item.document_id, item));
          const proposals = synced.retire_proposed.map((gone) => `gone from the site, still approved: ${gone.document_id} (${gone.source}); retire it with: airlock corpus retire ${gone.document_id}`);
          done();
          return { site: synced.site, retire_proposed: synced.retire_proposed, ...reportItems(io, rows, { site: synced.site, retire_proposed: synced.retire_proposed }, proposals) };
        },
        (synced) => ({ ...synced, retire_proposed: synced.retire_proposed.map((gone) => gone.document_id) }),
      );
      return result.refused > 0 ? 1 : 0;
    }
    case 'list': {
      const documents = await corpus.listDocuments(options.collection === undefined ? {} : { collection: options.collection });
      print(io, documents, () =>
        table(documents.map((document) => ({ ...document, state: document.latestState })), ['id', 'collection', 'state', 'title', 'approvedVersion', 'latestVersion']),
      );
      return 0;
    }
    case 'approve': {
      if (options['all-drafts']) {
        if (target !== undefined || options.version !== undefined) throw new UsageError('--all-drafts approves every draft: pass no document id or --version');
        const request = { ...(options.collection === undefined ? {} : { collection: options.collection }), dry_run: options['dry-run'] };
        const result = await audited(runtime, 'corpus approve --all-drafts', () => approveDrafts(corpus, request, CLI_ACTOR), (approved) => draftApprovalAudit(request, approved));
        const verb = result.dry_run ? 'would be approved' : 'approved';
        print(io, result, () =>
          [
            ...(result.documents.length === 0 ? [] : [table(result.documents, ['outcome', 'document_id', 'version', 'collection', 'title', 'detail']), '']),
            `${result.dry_run ? result.documents.length : result.approved} drafts ${verb}${result.failed > 0 ? `, ${result.failed} failed` : ''} (quarantined versions are never approved in bulk)`,
          ].join('\n'),
        );
        return result.failed > 0 ? 1 : 0;
      }
      if (options['dry-run']) throw new UsageError('--dry-run goes with --all-drafts');
      const version = options.version === undefined ? undefined : Number(options.version);
      if (version !== undefined && (!Number.isSafeInteger(version) || version < 1)) throw new UsageError('--version must be a positive whole number');
      const id = need(target, 'document id (or --all-drafts)');
      const result = await audited(runtime, 'corpus approve', () => corpus.approve(id, version, CLI_ACTOR), (approved) => ({
        document_id: approved.documentId,
        version: approved.version,
        previous_state: approved.previousState,
        retired_version: approved.retiredVersion,
      }));
      print(io, result, () => `approved ${result.documentId} v${result.version}`);
      return 0;
    }
    case 'retire': {
      const id = need(target, 'document id');
      const result = await audited(runtime, 'corpus retire', () => corpus.retire(id, CLI_ACTOR), (retired) => ({ document_id: retired.documentId, version: retired.version }));
      print(io, result, () => `retired ${result.documentId} v${result.version}`);
      return 0;
    }
    case 'reindex': {
      const done = step(io, 're-embedding every stored chunk');
      const result = await audited(runtime, 'corpus reindex', () => corpus.reindex(CLI_ACTOR), (reindexed) => ({ chunks: reindexed.chunks, embedder: reindexed.embedder }));
      done();
      print(io, result, () => `re-embedded ${result.chunks} chunks with ${result.embedder} (${result.dimension} dimensions)`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command "corpus ${action}"; run "airlock corpus --help"`);
  }
}
