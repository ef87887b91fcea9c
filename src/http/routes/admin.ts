// /admin/*: keys, the governed corpus, task versions, the review queue and the audit trail, for keys with the `admin` scope.
// Thin adapters: each handler parses with a zod schema, calls a domain service and records what it changed in
// res.locals.auditDetail, which the access log writes as the action's audit row.
import { Router, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { VersionState } from '../../contracts/corpus.js';
import { AppError } from '../../errors.js';
import type { KeyAdmin } from '../../admin/keys.js';
import { CreateKeyRequest } from '../../admin/keys.js';
import { ResolveReviewRequest, type ReviewAdmin } from '../../admin/reviews.js';
import { approveDrafts, ApproveDraftsRequest, draftApprovalAudit } from '../../admin/corpus.js';
import type { TaskAdmin } from '../../admin/tasks.js';
import type { Corpus } from '../../corpus/corpus.js';
import type { AuditStore } from '../../store/types.js';
import { zodIssuesToFieldErrors } from '../../pipeline/field-errors.js';
import { parseJson, rawBody } from '../middleware/json-body.js';
import type { DocumentedOperation } from '../../contracts/openapi.js';
import { principalOf, requireAdmin } from '../middleware/auth.js';

export interface AdminRouteDeps {
  readonly authenticate: RequestHandler;
  readonly keys: KeyAdmin;
  readonly reviews: ReviewAdmin;
  readonly tasks: TaskAdmin;
  readonly corpus: Corpus;
  readonly audit: AuditStore;
  readonly uploadLimitBytes: number;
}

export const parse = <T extends z.ZodType>(schema: T, value: unknown): z.infer<T> => {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new AppError('validation_failed', { errors: zodIssuesToFieldErrors(parsed.error.issues) });
  return parsed.data;
};

export const audited = (res: Response, detail: Record<string, unknown>): void => {
  res.locals['auditDetail'] = detail;
};

const UploadDocument = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,99}$/).optional(),
  collection: z.string().regex(/^[a-z][a-z0-9_-]*$/),
  source: z.string().min(1).max(2000),
  owner: z.string().min(1).max(200),
  title: z.string().min(1).max(300),
  content: z.string(),
  content_type: z.enum(['markdown', 'text', 'html']),
  approve: z.boolean().default(false),
});
const ApproveBody = z.strictObject({ version: z.int().min(1).optional() });
const RotateBody = z.strictObject({ overlap_hours: z.number().min(0).max(24 * 30).default(24) });
/** Without expires_at the new key keeps the old one's expiry (B11). */
const RotateKeyBody = RotateBody.extend({ expires_at: z.iso.datetime({ offset: true }).optional() });
const VersionParam = z.coerce.number().int().min(1);
/** How many rows a page holds unless the caller asks for fewer or more. */
const PAGE_SIZE = 50;
const Limit = z.coerce.number().int().min(1).max(500).default(PAGE_SIZE);
/** An opaque position in a list: base64url JSON of the keyset of the last row returned. */
const Cursor = z.string().max(600).regex(/^[A-Za-z0-9_-]+$/, 'not a cursor this server issued');
const encodeCursor = (position: unknown): string => Buffer.from(JSON.stringify(position)).toString('base64url');
function decodeCursor<T extends z.ZodType>(schema: T, cursor: string | undefined): z.infer<T> | undefined {
  if (cursor === undefined) return undefined;
  let position: unknown;
  try {
    position = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    position = undefined;
  }
  const parsed = schema.safeParse(position);
  if (!parsed.success) throw new AppError('validation_failed', { errors: [{ path: 'cursor', message: 'not a cursor this server issued' }] });
  return parsed.data;
}
const AuditPosition = z.strictObject({ seq: z.int().min(1) });
const ReviewPosition = z.strictObject({ created_at: z.string().max(64), id: z.string().max(64) });
const DocumentPosition = z.strictObject({ id: z.string().max(300) });

const AuditQuery = z.strictObject({
  request_id: z.string().max(128).optional(),
  key_id: z.string().max(64).optional(),
  task: z.string().max(100).optional(),
  decision: z.enum(['allowed', 'abstained', 'rejected', 'denied', 'review', 'error', 'admin']).optional(),
  limit: Limit,
  cursor: Cursor.optional(),
});
const ReviewQuery = z.strictObject({ state: z.enum(['open', 'approved', 'rejected']).optional(), limit: Limit, cursor: Cursor.optional() });
const DocumentsQuery = z.strictObject({
  collection: z.string().max(100).optional(),
  state: VersionState.optional().describe('Documents with a version in this state'),
  q: z.string().trim().min(1).max(200).optional().describe('Case-insensitive part of the id or title'),
  limit: Limit,
  cursor: Cursor.optional(),
});
const DiffQuery = z.strictObject({ from: VersionParam, to: VersionParam });
const TaskName = z.string().regex(/^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/, 'a task name such as invoice.extract');
const ImportTaskVersion = z.strictObject({
  files: z.record(z.string().max(128), z.string()).describe('The task folder: file name → text (task.json and the files it names)'),
});

/** What /openapi.json says of these routes, from the schemas the handlers below parse (tested to cover every route). */
export const ADMIN_OPERATIONS: readonly DocumentedOperation[] = [
  { method: 'get', path: '/admin/keys', tag: 'keys', summary: 'List API keys (never their secrets)', success: { status: 200, description: 'The keys' } },
  { method: 'post', path: '/admin/keys', tag: 'keys', summary: 'Create a key; the secret is shown once', body: CreateKeyRequest, success: { status: 201, description: 'The key and its secret' } },
  { method: 'post', path: '/admin/keys/:id/revoke', tag: 'keys', summary: 'Revoke a key', success: { status: 200, description: 'The revoked key' } },
  { method: 'post', path: '/admin/keys/:id/rotate', tag: 'keys', summary: 'Rotate a key with an overlap window', body: RotateBody, success: { status: 201, description: 'The new key, shown once' } },
  { method: 'post', path: '/admin/keys/:id/rotate-secret', tag: 'keys', summary: 'Rotate a key\'s signing secret', body: RotateBody, success: { status: 201, description: 'The new secret, shown once' } },
  { method: 'get', path: '/admin/corpus/documents', tag: 'corpus', summary: 'List corpus documents', query: DocumentsQuery, success: { status: 200, description: 'Documents and corpus statistics' } },
  { method: 'post', path: '/admin/corpus/documents', tag: 'corpus', summary: 'Upload a document as a new draft version', body: UploadDocument, success: { status: 201, description: 'The document and its new version' }, problems: { 429: 'The model screen call budget is spent (AIRLOCK_SCREEN_INGEST)', 503: 'Storage or the ingest model screen unavailable (screen_unavailable: nothing stored)' } },
  { method: 'get', path: '/admin/corpus/documents/:id', tag: 'corpus', summary: 'A document and its versions', success: { status: 200, description: 'The document' } },
  { method: 'get', path: '/admin/corpus/documents/:id/versions/:version/chunks', tag: 'corpus', summary: 'The chunks of one version', success: { status: 200, description: 'The chunks' } },
  { method: 'get', path: '/admin/corpus/documents/:id/diff', tag: 'corpus', summary: 'Unified diff between two versions', query: DiffQuery, success: { status: 200, description: 'The diff' } },
  { method: 'post', path: '/admin/corpus/documents/:id/approve', tag: 'corpus', summary: 'Approve a version (the latest by default)', body: ApproveBody, success: { status: 200, description: 'The approval' } },
  { method: 'post', path: '/admin/corpus/approve-drafts', tag: 'corpus', summary: 'Approve every draft (never a quarantined version), or list them with dry_run', body: ApproveDraftsRequest, success: { status: 200, description: 'Each draft and what happened to it' } },
  { method: 'post', path: '/admin/corpus/documents/:id/retire', tag: 'corpus', summary: 'Retire the approved version', success: { status: 200, description: 'The retirement' } },
  { method: 'delete', path: '/admin/corpus/documents/:id/versions/:version', tag: 'corpus', summary: 'Delete a draft or quarantined version', success: { status: 200, description: 'The deletion' } },
  { method: 'get', path: '/admin/tasks', tag: 'tasks', summary: 'List tasks and their versions', success: { status: 200, description: 'Tasks with their active and other versions' } },
  { method: 'get', path: '/admin/tasks/:name', tag: 'tasks', summary: 'The active (or newest) version of a task with its files', success: { status: 200, description: 'The version and its files' } },
  { method: 'get', path: '/admin/tasks/:name/versions/:version', tag: 'tasks', summary: 'One version of a task with its files', success: { status: 200, description: 'The version and its files' } },
  { method: 'get', path: '/admin/tasks/:name/diff', tag: 'tasks', summary: 'Unified diff of the files of two versions', query: DiffQuery, success: { status: 200, description: 'The changed files and their diffs' } },
  { method: 'post', path: '/admin/tasks/:name/versions', tag: 'tasks', summary: 'Import a task folder as a new draft version (validated first)', body: ImportTaskVersion, success: { status: 201, description: 'The draft version' } },
  { method: 'post', path: '/admin/tasks/:name/activate', tag: 'tasks', summary: 'Activate a version (the newest by default); the active one is retired atomically', body: ApproveBody, success: { status: 200, description: 'The activated version' } },
  { method: 'get', path: '/admin/reviews', tag: 'reviews', summary: 'List review items', query: ReviewQuery, success: { status: 200, description: 'Review items and the open count' } },
  { method: 'get', path: '/admin/reviews/:id', tag: 'reviews', summary: 'One review item', success: { status: 200, description: 'The review item' } },
  { method: 'post', path: '/admin/reviews/:id/resolve', tag: 'reviews', summary: 'Approve (with a corrected output) or reject a review item', body: ResolveReviewRequest, success: { status: 200, description: 'The resolved item' } },
  { method: 'get', path: '/admin/audit', tag: 'audit', summary: 'Search the audit trail', query: AuditQuery, success: { status: 200, description: 'Audit rows, newest first' } },
];

export function adminRoutes(deps: AdminRouteDeps): Router {
  const router = Router();
  const body = [rawBody(deps.uploadLimitBytes), deps.authenticate, requireAdmin, parseJson];
  const noBody = [deps.authenticate, requireAdmin];
  const param = (value: unknown): string => String(value);

  router.get('/admin/keys', ...noBody, async (_req, res) => {
    res.json({ keys: await deps.keys.list() });
  });
  router.post('/admin/keys', ...body, async (_req, res) => {
    const created = await deps.keys.create(parse(CreateKeyRequest, res.locals['json']));
    audited(res, { key_id: created.id, scopes: created.record.scopes });
    res.status(201).setHeader('Cache-Control', 'no-store').json(created);
  });
  router.post('/admin/keys/:id/revoke', ...noBody, async (req, res) => {
    const key = await deps.keys.revoke(param(req.params['id']));
    audited(res, { key_id: key.id });
    res.json(key);
  });
  router.post('/admin/keys/:id/rotate', ...body, async (req, res) => {
    const { overlap_hours, expires_at } = parse(RotateKeyBody, res.locals['json']);
    const rotated = await deps.keys.rotate(param(req.params['id']), overlap_hours, expires_at);
    audited(res, { key_id: rotated.id, previous: rotated.previous.id });
    res.status(201).setHeader('Cache-Control', 'no-store').json(rotated);
  });
  router.post('/admin/keys/:id/rotate-secret', ...body, async (req, res) => {
    const { overlap_hours } = parse(RotateBody, res.locals['json']);
    const rotated = await deps.keys.rotateSigningSecret(param(req.params['id']), overlap_hours);
    audited(res, { key_id: rotated.id });
    res.status(201).setHeader('Cache-Control', 'no-store').json(rotated);
  });

  router.get('/admin/corpus/documents', ...noBody, async (req, res) => {
    const { cursor, ...query } = parse(DocumentsQuery, req.query);
    const after = decodeCursor(DocumentPosition, cursor);
    const page = await deps.corpus.pageDocuments({
      limit: query.limit,
      ...(query.collection === undefined ? {} : { collection: query.collection }),
      ...(query.state === undefined ? {} : { state: query.state }),
      ...(query.q === undefined ? {} : { q: query.q }),
      ...(after === undefined ? {} : { afterId: after.id }),
    });
    const last = page.documents.at(-1);
    res.json({
      documents: page.documents,
      next_cursor: page.more && last !== undefined ? encodeCursor({ id: last.id }) : null,
      stats: await deps.corpus.stats(),
    });
  });
  router.post('/admin/corpus/documents', ...body, async (_req, res) => {
    const upload = parse(UploadDocument, res.locals['json']);
    const result = await deps.corpus.ingestDocument({
      ...(upload.id === undefined ? {} : { id: upload.id }),
      collection: upload.collection,
      source: upload.source,
      owner: upload.owner,
      title: upload.title,
      content: upload.content,
      contentType: upload.content_type,
      actor: principalOf(res.locals).keyId,
      approve: upload.approve,
    });
    audited(res, { document_id: result.document.id, version: result.version.version, state: result.version.state, created: result.created });
    res.status(result.created ? 201 : 200).json(result);
  });
  router.get('/admin/corpus/documents/:id', ...noBody, async (req, res) => {
    const id = param(req.params['id']);
    res.json({ document: await deps.corpus.getDocument(id), versions: await deps.corpus.listVersions(id) });
  });
  router.get('/admin/corpus/documents/:id/versions/:version/chunks', ...noBody, async (req, res) => {
    res.json({ chunks: await deps.corpus.getChunks(param(req.params['id']), parse(VersionParam, req.params['version'])) });
  });
  router.get('/admin/corpus/documents/:id/diff', ...noBody, async (req, res) => {
    const query = parse(DiffQuery, req.query);
    res.json(await deps.corpus.diffVersions(param(req.params['id']), query.from, query.to));
  });
  router.post('/admin/corpus/documents/:id/approve', ...body, async (req, res) => {
    const { version } = parse(ApproveBody, res.locals['json'] ?? {});
    const result = await deps.corpus.approve(param(req.params['id']), version, principalOf(res.locals).keyId);
    audited(res, { document_id: result.documentId, version: result.version, previous_state: result.previousState, retired_version: result.retiredVersion });
    res.json(result);
  });
  router.post('/admin/corpus/approve-drafts', ...body, async (_req, res) => {
    const request = parse(ApproveDraftsRequest, res.locals['json'] ?? {});
    const result = await approveDrafts(deps.corpus, request, principalOf(res.locals).keyId);
    audited(res, draftApprovalAudit(request, result));
    res.json(result);
  });
  router.post('/admin/corpus/documents/:id/retire', ...noBody, async (req, res) => {
    const result = await deps.corpus.retire(param(req.params['id']), principalOf(res.locals).keyId);
    audited(res, { document_id: result.documentId, version: result.version });
    res.json(result);
  });
  router.delete('/admin/corpus/documents/:id/versions/:version', ...noBody, async (req, res) => {
    const result = await deps.corpus.deleteDraft(param(req.params['id']), parse(VersionParam, req.params['version']), principalOf(res.locals).keyId);
    audited(res, { document_id: result.documentId, version: result.version });
    res.json(result);
  });

  router.get('/admin/tasks', ...noBody, async (_req, res) => {
    res.json({ tasks: await deps.tasks.list() });
  });
  router.get('/admin/tasks/:name', ...noBody, async (req, res) => {
    res.json(await deps.tasks.show(parse(TaskName, req.params['name'])));
  });
  router.get('/admin/tasks/:name/versions/:version', ...noBody, async (req, res) => {
    res.json(await deps.tasks.show(parse(TaskName, req.params['name']), parse(VersionParam, req.params['version'])));
  });
  router.get('/admin/tasks/:name/diff', ...noBody, async (req, res) => {
    const query = parse(DiffQuery, req.query);
    res.json(await deps.tasks.diff(parse(TaskName, req.params['name']), query.from, query.to));
  });
  router.post('/admin/tasks/:name/versions', ...body, async (req, res) => {
    const { files } = parse(ImportTaskVersion, res.locals['json']);
    const imported = await deps.tasks.importFolder(parse(TaskName, req.params['name']), files, { by: principalOf(res.locals).keyId, requestId: String(res.locals['requestId']) });
    res.locals['audited'] = true;
    res.status(imported.created ? 201 : 200).json(imported);
  });
  router.post('/admin/tasks/:name/activate', ...body, async (req, res) => {
    const { version } = parse(ApproveBody, res.locals['json'] ?? {});
    const activated = await deps.tasks.activate(parse(TaskName, req.params['name']), version, { by: principalOf(res.locals).keyId, requestId: String(res.locals['requestId']) });
    res.locals['audited'] = true;
    res.json(activated);
  });

  router.get('/admin/reviews', ...noBody, async (req, res) => {
    const { cursor, ...query } = parse(ReviewQuery, req.query);
    const after = decodeCursor(ReviewPosition, cursor);
    const page = await deps.reviews.list({ ...query, ...(after === undefined ? {} : { after: { createdAt: after.created_at, id: after.id } }) });
    const last = page.reviews.at(-1);
    res.json({
      reviews: page.reviews,
      open: await deps.reviews.depth(),
      next_cursor: page.more && last !== undefined ? encodeCursor({ created_at: last.created_at, id: last.id }) : null,
    });
  });
  router.get('/admin/reviews/:id', ...noBody, async (req, res) => {
    res.json(await deps.reviews.get(param(req.params['id'])));
  });
  router.post('/admin/reviews/:id/resolve', ...body, async (req, res) => {
    const request = parse(ResolveReviewRequest, res.locals['json']);
    const review = await deps.reviews.resolve(param(req.params['id']), { ...request, by: principalOf(res.locals).keyId, requestId: String(res.locals['requestId']) });
    res.locals['audited'] = true;
    res.json(review);
  });

  router.get('/admin/audit', ...noBody, async (req, res) => {
    const query = parse(AuditQuery, req.query);
    const after = decodeCursor(AuditPosition, query.cursor);
    const rows = await deps.audit.list({
      limit: query.limit + 1,
      ...(after === undefined ? {} : { beforeSeq: after.seq }),
      ...(query.request_id === undefined ? {} : { requestId: query.request_id }),
      ...(query.key_id === undefined ? {} : { keyId: query.key_id }),
      ...(query.task === undefined ? {} : { task: query.task }),
      ...(query.decision === undefined ? {} : { decision: query.decision }),
    });
    // Rows name the key that acted, not only its id (CLI actions have none).
    const keyNames = new Map((await deps.keys.list()).map((key) => [key.id, key.name]));
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    res.json({
      audit: page.map(({ seq: _seq, ...row }) => ({ ...row, keyName: row.keyId === null ? null : (keyNames.get(row.keyId) ?? null) })),
      next_cursor: rows.length > query.limit && last !== undefined ? encodeCursor({ seq: last.seq }) : null,
    });
  });
  return router;
}
