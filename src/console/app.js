// Airlock console: a dependency-free module over /admin/*. Everything the server returns is rendered as
// text nodes, never parsed as markup: document text, model output and audit details are untrusted here too.
const KEY_STORAGE = 'airlock.adminKey';
const VIEWS = ['documents', 'quarantine', 'reviews', 'audit', 'keys', 'tasks', 'webhooks'];
const $ = (id) => document.getElementById(id);

/** Builds an element; string and number children become text nodes, never markup. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (name === 'class') node.className = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const badge = (text) => el('span', { class: `badge ${text}` }, text);
/** A table body's rows: one per item, or a single muted row spanning `columns` that says the table is empty. */
const tableRows = (items, columns, empty, row) =>
  items.length === 0 ? [el('tr', {}, el('td', { colspan: columns, class: 'muted' }, empty))] : items.map(row);
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '–');

function say(message, tone = 'ok') {
  const status = $('status');
  status.className = `status ${tone}`;
  status.textContent = message;
}

class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

const adminKey = () => sessionStorage.getItem(KEY_STORAGE);

async function api(path, { method = 'GET', body } = {}) {
  const headers = { authorization: `Bearer ${adminKey()}`, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  const json = await response.json().catch(() => undefined);
  if (!response.ok) {
    if (response.status === 401) signOut('Your key was not accepted; sign in again.');
    throw new ApiError(response.status, json);
  }
  return json;
}

const explain = (error) => {
  const fields = error.problem?.errors?.map((item) => `${item.path}: ${item.message}`).join('; ');
  return `${error.message}${fields ? ` (${fields})` : ''}${error.problem?.request_id ? ` [request ${error.problem.request_id}]` : ''}`;
};

async function act(label, work) {
  try {
    const result = await work();
    if (label) say(label);
    return result;
  } catch (error) {
    say(error instanceof ApiError ? explain(error) : String(error), 'bad');
    return undefined;
  }
}

// ---------- sign in / out ----------

function signOut(message) {
  sessionStorage.removeItem(KEY_STORAGE);
  showSignIn();
  if (message) $('signin-error').textContent = message;
}

function showSignIn() {
  for (const view of document.querySelectorAll('.view')) view.hidden = view.id !== 'view-signin';
  $('nav').hidden = true;
  $('sign-out').hidden = true;
  $('admin-key').focus();
}

$('signin-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const key = $('admin-key').value.trim();
  $('signin-error').textContent = '';
  sessionStorage.setItem(KEY_STORAGE, key);
  try {
    await api('/admin/reviews?limit=1');
  } catch (error) {
    sessionStorage.removeItem(KEY_STORAGE);
    $('signin-error').textContent = error.status === 403 ? 'This key lacks the admin scope.' : 'That key was not accepted.';
    return;
  }
  $('admin-key').value = '';
  route();
  say('Signed in.');
});

$('sign-out').addEventListener('click', () => {
  signOut();
  say('Signed out.');
});

// ---------- routing ----------

function route() {
  if (!adminKey()) {
    showSignIn();
    return;
  }
  const view = VIEWS.includes(location.hash.slice(1)) ? location.hash.slice(1) : 'documents';
  $('nav').hidden = false;
  $('sign-out').hidden = false;
  say('');
  for (const section of document.querySelectorAll('.view')) section.hidden = section.id !== `view-${view}`;
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.dataset.view === view) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${view[0].toUpperCase()}${view.slice(1)} · Airlock console`;
  void LOADERS[view]();
}
window.addEventListener('hashchange', route);

// ---------- paging ----------

/**
 * Keyset paging over a list endpoint: remembers the cursor that starts each page so Previous goes back without the
 * server keeping state; a new search starts again at page 1. One request per page.
 */
// `fetchPage(cursor)` resolves to a page carrying `next_cursor` (undefined when the request failed), `renderPage(page)`
// draws it. Only the latest request renders: an admin who applies a filter or pages on while a slower request is still
// in flight must never see that request's rows land over the ones asked for last.
function createPager(prefix, fetchPage, renderPage) {
  let starts = [null];
  let index = 0;
  let next = null;
  let latest = 0;
  const render = () => {
    $(`${prefix}-prev`).disabled = index === 0;
    $(`${prefix}-next`).disabled = next === null;
    $(`${prefix}-page`).textContent = `Page ${index + 1}`;
  };
  const show = async () => {
    latest += 1;
    const request = latest;
    const page = await fetchPage(starts[index]);
    if (page === undefined || request !== latest) return;
    renderPage(page);
    next = page.next_cursor;
    render();
  };
  $(`${prefix}-prev`).addEventListener('click', () => {
    if (index === 0) return;
    index -= 1;
    void show();
  });
  $(`${prefix}-next`).addEventListener('click', () => {
    if (next === null) return;
    starts = [...starts.slice(0, index + 1), next];
    index += 1;
    void show();
  });
  return {
    /** Shows the page the admin is on (after an action, the same page again). */
    reload: show,
    /** Starts again at the first page (a new search or filter). */
    restart: () => {
      starts = [null];
      index = 0;
      return show();
    },
  };
}

const withCursor = (query, cursor) => {
  const params = new URLSearchParams(query);
  if (cursor) params.set('cursor', cursor);
  return params;
};

// ---------- documents ----------

const STATE_ORDER = ['draft', 'quarantined', 'approved', 'retired'];
let selectedDocument = null;

function documentsQuery() {
  const query = new URLSearchParams();
  for (const [name, value] of new FormData($('documents-filter'))) if (String(value).trim()) query.set(name, String(value).trim());
  return query;
}

const documentsPager = createPager(
  'documents',
  (cursor) => act('', () => api(`/admin/corpus/documents?${withCursor(documentsQuery(), cursor)}`)),
  renderDocuments,
);

function renderDocuments(listing) {
  const stats = listing.stats;
  $('documents-stats').textContent = `${stats.documents} documents · ${stats.approvedChunks} approved chunks · versions: ${STATE_ORDER.map((state) => `${stats.versionsByState?.[state] ?? 0} ${state}`).join(', ')}`;
  $('documents-rows').replaceChildren(
    ...tableRows(listing.documents, 7, 'No documents match.', (doc) =>
          el('tr', { class: selectedDocument === doc.id ? 'selected' : undefined, 'data-document-row': doc.id },
            el('td', {},
              doc.latestState === 'draft'
                ? el('input', {
                    type: 'checkbox',
                    'aria-label': `Select ${doc.id} v${doc.latestVersion}`,
                    checked: draftSelection.get(doc.id) === doc.latestVersion,
                    onchange: (event) => toggleDraft(doc, event.target.checked),
                  })
                : null,
            ),
            el('td', {}, el('button', { type: 'button', class: 'secondary', 'data-document': doc.id, onclick: () => openDocument(doc.id) }, doc.id)),
            el('td', {}, doc.title),
            el('td', {}, doc.collection),
            el('td', {}, `v${doc.latestVersion} `, badge(doc.latestState ?? '?')),
            el('td', {}, doc.approvedVersion === null ? '–' : `v${doc.approvedVersion}`),
            el('td', {}, doc.owner),
          ),
        ),
  );
}

// Drafts chosen for bulk approval, each with the version the admin saw; kept across pages and searches.
const draftSelection = new Map();

function toggleDraft(doc, selected) {
  if (selected) draftSelection.set(doc.id, doc.latestVersion);
  else draftSelection.delete(doc.id);
  renderDraftSelection();
}

function renderDraftSelection() {
  $('approve-selected').disabled = draftSelection.size === 0;
  $('approve-selected').textContent = `Approve ${draftSelection.size} selected draft${draftSelection.size === 1 ? '' : 's'}`;
}

async function approveSelected() {
  const documents = [...draftSelection].map(([id, version]) => ({ id, version }));
  const result = await act('', () => api('/admin/corpus/approve-drafts', { method: 'POST', body: { documents } }));
  if (!result) return;
  const skipped = documents.length - result.approved;
  say(`Approved ${result.approved} of ${documents.length} selected drafts${skipped > 0 ? `; ${skipped} changed since you selected them and were left alone` : ''}.`, skipped > 0 ? 'bad' : 'ok');
  draftSelection.clear();
  renderDraftSelection();
  await documentsPager.reload();
}

async function loadDocuments() {
  renderDraftSelection();
  await documentsPager.reload();
  if (selectedDocument) await openDocument(selectedDocument, { focus: false });
}

async function openDocument(id, { focus = true } = {}) {
  const detail = await act('', () => api(`/admin/corpus/documents/${encodeURIComponent(id)}`));
  if (!detail) return;
  selectedDocument = id;
  for (const row of document.querySelectorAll('#documents-rows tr')) row.classList.toggle('selected', row.dataset.documentRow === id);
  const { document: doc, versions } = detail;
  $('document-detail').hidden = false;
  $('detail-title').textContent = `${doc.title} (${doc.id})`;
  $('detail-meta').textContent = `Collection ${doc.collection} · owner ${doc.owner} · source ${doc.source}`;
  $('diff-panel').hidden = true;
  $('detail-versions').replaceChildren(
    ...[...versions].reverse().map((version) =>
      el('tr', {},
        el('td', {}, `v${version.version}`),
        el('td', {}, badge(version.state)),
        el('td', {}, `${when(version.ingestedAt)} by ${version.ingestedBy}`),
        el('td', {}, version.approvedAt ? `${when(version.approvedAt)} by ${version.approvedBy}` : '–'),
        el('td', {}, version.chunkCount),
        el('td', {}, version.findings.length === 0 ? '–' : el('ul', { class: 'reasons' }, version.findings.flatMap((finding) => finding.reasons).map((reason) => el('li', {}, reason)))),
        el('td', {},
          el('div', { class: 'buttons' },
            version.version > 1
              ? el('button', { type: 'button', class: 'secondary', onclick: () => showDiff(doc.id, version.version - 1, version.version) }, `Diff v${version.version - 1}→v${version.version}`)
              : el('button', { type: 'button', class: 'secondary', onclick: () => showContent(doc.id, version.version) }, 'View content'),
            version.state === 'draft' || version.state === 'quarantined'
              ? el('button', { type: 'button', onclick: () => approve(doc.id, version.version) }, `Approve v${version.version}`)
              : null,
            version.state === 'approved' ? el('button', { type: 'button', class: 'danger', onclick: () => retire(doc.id) }, 'Retire') : null,
          ),
        ),
      ),
    ),
  );
  // The list keeps its page and scroll position; the detail is brought into view without jumping past it.
  if (focus) {
    $('detail-title').focus({ preventScroll: true });
    $('document-detail').scrollIntoView({ block: 'nearest' });
  }
}

const diffClass = (line) =>
  line.startsWith('@@') || line.startsWith('+++') || line.startsWith('---') ? 'hunk' : line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : undefined;

async function showDiff(id, from, to) {
  const diff = await act('', () => api(`/admin/corpus/documents/${encodeURIComponent(id)}/diff?from=${from}&to=${to}`));
  if (!diff) return;
  $('diff-title').textContent = `Changes from v${from} to v${to}`;
  $('diff-body').replaceChildren(
    ...diff.diff.split('\n').map((line) => el('span', { class: diffClass(line) }, line || ' ')),
  );
  $('diff-panel').hidden = false;
  $('diff-body').focus();
}

async function showContent(id, version) {
  const result = await act('', () => api(`/admin/corpus/documents/${encodeURIComponent(id)}/versions/${version}/chunks`));
  if (!result) return;
  $('diff-title').textContent = `Content of v${version} (${result.chunks.length} chunks; nothing earlier to compare with)`;
  $('diff-body').replaceChildren(...result.chunks.flatMap((chunk) => [el('span', { class: 'hunk' }, `# ${chunk.chunkId}`), el('span', {}, chunk.text)]));
  $('diff-panel').hidden = false;
  $('diff-body').focus();
}

async function approve(id, version) {
  const result = await act(`Approved ${id} v${version}.`, () => api(`/admin/corpus/documents/${encodeURIComponent(id)}/approve`, { method: 'POST', body: { version } }));
  if (result) await loadCurrent();
}

async function retire(id) {
  const result = await act(`Retired the approved version of ${id}.`, () => api(`/admin/corpus/documents/${encodeURIComponent(id)}/retire`, { method: 'POST' }));
  if (result) await loadCurrent();
}

// ---------- quarantine ----------

async function loadQuarantine() {
  // Only documents holding a quarantined version, one page of them: the scan flags few, and each needs reading.
  const listing = await act('', () => api('/admin/corpus/documents?state=quarantined&limit=100'));
  if (!listing) return;
  const details = await Promise.all(listing.documents.map((doc) => api(`/admin/corpus/documents/${encodeURIComponent(doc.id)}`)));
  const flagged = details.flatMap(({ document: doc, versions }) => versions.filter((version) => version.state === 'quarantined').map((version) => ({ doc, version })));
  const list = $('quarantine-list');
  list.replaceChildren();
  if (flagged.length === 0) {
    list.append(el('p', { class: 'muted' }, 'Nothing is quarantined.'));
    return;
  }
  if (listing.next_cursor !== null) list.append(el('p', { class: 'muted' }, 'Showing the first 100 documents with a quarantined version; find the rest under Documents with the state filter.'));
  for (const { doc, version } of flagged) {
    list.append(
      el('article', { class: 'card', 'aria-label': `${doc.id} v${version.version}` },
        el('h3', {}, `${doc.title} (${doc.id}) v${version.version}`),
        el('p', { class: 'muted' }, `Collection ${doc.collection} · ingested ${when(version.ingestedAt)} by ${version.ingestedBy}`),
        el('p', {}, 'Flagged because:'),
        el('ul', { class: 'reasons' }, version.findings.map((finding) => el('li', {}, `${finding.ordinal < 0 ? 'Whole document' : `Chunk ${finding.ordinal}`}: ${finding.reasons.join('; ')}`))),
        el('div', { class: 'buttons' },
          el('button', { type: 'button', class: 'secondary', onclick: () => { location.hash = '#documents'; void openDocument(doc.id); } }, 'Open document'),
          el('button', { type: 'button', onclick: () => approve(doc.id, version.version) }, 'Approve anyway'),
          el('button', { type: 'button', class: 'danger', onclick: () => deleteVersion(doc.id, version.version) }, 'Delete version'),
        ),
      ),
    );
  }
}

async function deleteVersion(id, version) {
  const result = await act(`Deleted ${id} v${version}.`, () => api(`/admin/corpus/documents/${encodeURIComponent(id)}/versions/${version}`, { method: 'DELETE' }));
  if (result) await loadCurrent();
}

// ---------- reviews ----------

const pretty = (text) => {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
};

const reviewsPager = createPager(
  'reviews',
  async (cursor) => {
    const state = $('reviews-state').value;
    const result = await act('', () => api(`/admin/reviews?${withCursor({ state, limit: '50' }, cursor)}`));
    return result && { ...result, state };
  },
  (page) => renderReviews(page.state, page),
);
const loadReviews = () => reviewsPager.reload();

function renderReviews(state, result) {
  const list = $('reviews-list');
  list.replaceChildren(el('p', { class: 'muted' }, `${result.open} open item(s) in the queue.`));
  if (result.reviews.length === 0) list.append(el('p', { class: 'muted' }, `No ${state} review items.`));
  for (const review of result.reviews) {
    const outputId = `output-${review.id}`;
    const noteId = `note-${review.id}`;
    const open = review.state === 'open';
    list.append(
      el('article', { class: 'card review', 'aria-label': `Review ${review.id}`, 'data-review': review.id },
        el('h3', {}, `${review.task} `, badge(review.state)),
        el('p', { class: 'muted' }, `Created ${when(review.created_at)} · request `, el('span', { class: 'mono' }, review.request_id), ` · key ${review.key_id ?? '–'}`),
        el('ul', { class: 'reasons', 'aria-label': 'Reasons' }, review.reasons.map((reason) => el('li', {}, reason))),
        el('div', { class: 'grid' },
          el('div', {}, el('h4', {}, 'Input (redacted)'), el('pre', {}, JSON.stringify(review.input, null, 2))),
          el('div', {}, el('h4', {}, 'Model output as received'), el('pre', {}, pretty(review.raw_output))),
        ),
        open
          ? el('div', {},
              el('label', { for: outputId }, 'Approved output (JSON, must match the task output schema)'),
              el('textarea', { id: outputId, spellcheck: 'false' }, pretty(review.raw_output)),
              el('label', { for: noteId }, 'Note (optional)'),
              el('input', { id: noteId, maxlength: 2000 }),
              el('div', { class: 'buttons' },
                el('button', { type: 'button', onclick: () => resolve(review.id, 'approve') }, 'Approve with this output'),
                el('button', { type: 'button', class: 'danger', onclick: () => resolve(review.id, 'reject') }, 'Reject'),
              ),
            )
          : el('p', {}, `Resolved ${when(review.resolved_at)} by ${review.resolved_by ?? '–'}`),
      ),
    );
  }
}

async function resolve(id, decision) {
  const note = $(`note-${id}`).value.trim();
  let output;
  if (decision === 'approve') {
    try {
      output = JSON.parse($(`output-${id}`).value);
    } catch {
      say('The approved output is not valid JSON.', 'bad');
      $(`output-${id}`).focus();
      return;
    }
  }
  const body = { decision, ...(output === undefined ? {} : { output }), ...(note ? { note } : {}) };
  const result = await act(`Review ${id} ${decision === 'approve' ? 'approved' : 'rejected'}.`, () => api(`/admin/reviews/${encodeURIComponent(id)}/resolve`, { method: 'POST', body }));
  if (result) await reviewsPager.reload();
}

// ---------- audit ----------

const auditPager = createPager(
  'audit',
  (cursor) => {
    const query = new URLSearchParams();
    for (const [name, value] of new FormData($('audit-filter'))) if (String(value).trim()) query.set(name, String(value).trim());
    return act('', () => api(`/admin/audit?${withCursor(query, cursor)}`));
  },
  renderAudit,
);
const loadAudit = () => auditPager.restart();

function renderAudit(result) {
  const rows = result.audit;
  $('audit-rows').replaceChildren(
    ...tableRows(rows, 9, 'No rows match.', (row) =>
          el('tr', {},
            el('td', {}, when(row.at)),
            el('td', { class: 'mono' }, row.action),
            el('td', {}, row.task ?? '–'),
            el('td', {}, badge(row.decision)),
            el('td', {}, row.status),
            el('td', { class: 'mono' }, row.code ?? '–'),
            el('td', {}, row.keyId === null ? '–' : el('span', { title: row.keyId }, row.keyName ?? row.keyId)),
            el('td', { class: 'mono' }, row.requestId),
            el('td', {}, row.latencyMs),
          ),
        ),
  );
}

// ---------- keys ----------

const keyState = (key) =>
  key.revoked_at !== null ? 'revoked' : key.expires_at !== null && Date.parse(key.expires_at) <= Date.now() ? 'expired' : 'active';

async function loadKeys() {
  const result = await act('', () => api('/admin/keys'));
  if (!result) return;
  $('keys-rows').replaceChildren(
    ...result.keys.map((key) => {
      const state = keyState(key);
      return el('tr', { 'data-key': key.id },
        el('td', {}, key.name),
        el('td', { class: 'mono' }, key.id),
        el('td', { class: 'mono' }, key.scopes.join(' ')),
        el('td', {}, key.expires_at ? when(key.expires_at) : 'never'),
        el('td', {}, when(key.last_used_at)),
        el('td', {}, badge(state)),
        el('td', {},
          state === 'active'
            ? el('div', { class: 'buttons' },
                el('button', { type: 'button', class: 'secondary', onclick: () => rotateKey(key) }, `Rotate ${key.name}`),
                el('button', { type: 'button', class: 'danger', onclick: () => revokeKey(key) }, `Revoke ${key.name}`),
              )
            : '–',
        ),
      );
    }),
  );
}

/** Shows a new secret once, in the page only: it is never stored by the console. */
function showSecret(values, panel = 'key-secret') {
  $(`${panel}-values`).replaceChildren(...values.flatMap(([label, value]) => [el('dt', {}, label), el('dd', {}, el('code', { class: 'mono' }, value))]));
  $(panel).hidden = false;
  $(`${panel}-title`).focus();
}

async function rotateKey(key) {
  const rotated = await act(`Rotated ${key.name}; the old key keeps working for 24 hours.`, () => api(`/admin/keys/${encodeURIComponent(key.id)}/rotate`, { method: 'POST', body: { overlap_hours: 24 } }));
  if (!rotated) return;
  showSecret([['New key', rotated.key]]);
  await loadKeys();
}

async function revokeKey(key) {
  const revoked = await act(`Revoked ${key.name}.`, () => api(`/admin/keys/${encodeURIComponent(key.id)}/revoke`, { method: 'POST' }));
  if (revoked) await loadKeys();
}

$('key-create').addEventListener('submit', async (event) => {
  event.preventDefault();
  const expires = $('key-expires').value;
  const body = {
    name: $('key-name').value.trim(),
    scopes: $('key-scopes').value.split(/[\s,]+/).filter(Boolean),
    require_signature: $('key-signed').checked,
    ...(expires ? { expires_at: new Date(expires).toISOString() } : {}),
  };
  const created = await act(`Created ${body.name}.`, () => api('/admin/keys', { method: 'POST', body }));
  if (!created) return;
  $('key-create').reset();
  showSecret([['Key', created.key], ...(created.signing_secret ? [['Signing secret', created.signing_secret]] : [])]);
  await loadKeys();
});

// ---------- tasks ----------

let selectedTask = null;

async function loadTasks() {
  const listing = await act('', () => api('/admin/tasks'));
  if (!listing) return;
  $('tasks-rows').replaceChildren(
    ...listing.tasks.map((task) =>
      el('tr', { class: selectedTask === task.name ? 'selected' : undefined },
        el('td', {}, el('button', { type: 'button', class: 'secondary', onclick: () => openTask(task.name) }, task.name)),
        el('td', {}, task.active_version === null ? '–' : `v${task.active_version}`),
        el('td', {}, task.versions.length),
      ),
    ),
  );
  if (selectedTask) await openTask(selectedTask, { focus: false });
}

async function openTask(name, { focus = true } = {}) {
  const task = await act('', () => api(`/admin/tasks/${encodeURIComponent(name)}`));
  if (!task) return;
  selectedTask = name;
  $('task-detail').hidden = false;
  $('task-diff').hidden = true;
  $('task-title').textContent = `${name}: versions`;
  $('task-versions').replaceChildren(
    ...task.versions.map((version, index) => {
      const previous = task.versions[index + 1];
      return el('tr', {},
        el('td', {}, `v${version.version}`),
        el('td', {}, badge(version.state)),
        el('td', {}, `${when(version.created_at)} by ${version.created_by}`),
        el('td', {}, version.activated_at ? `${when(version.activated_at)} by ${version.activated_by}` : '–'),
        el('td', {},
          el('div', { class: 'buttons' },
            previous ? el('button', { type: 'button', class: 'secondary', onclick: () => showTaskDiff(name, previous.version, version.version) }, `Diff v${previous.version}→v${version.version}`) : null,
            version.state === 'active' ? null : el('button', { type: 'button', onclick: () => activateTask(name, version.version) }, `Activate v${version.version}`),
          ),
        ),
      );
    }),
  );
  if (focus) $('task-title').focus({ preventScroll: true });
}

async function showTaskDiff(name, from, to) {
  const diff = await act('', () => api(`/admin/tasks/${encodeURIComponent(name)}/diff?from=${from}&to=${to}`));
  if (!diff) return;
  $('task-diff-title').textContent = `Changes from v${from} to v${to}`;
  const lines = diff.files.flatMap((file) => file.diff.split('\n'));
  $('task-diff-body').replaceChildren(...(lines.length === 0 ? [el('span', {}, 'The files are identical.')] : lines.map((line) => el('span', { class: diffClass(line) }, line || ' '))));
  $('task-diff').hidden = false;
  $('task-diff-body').focus();
}

async function activateTask(name, version) {
  const result = await act(`Activated ${name} v${version}; every process serves it from its next request.`, () => api(`/admin/tasks/${encodeURIComponent(name)}/activate`, { method: 'POST', body: { version } }));
  if (result) await loadTasks();
}

// ---------- webhooks ----------

async function loadWebhooks() {
  const result = await act('', () => api('/admin/webhooks'));
  if (!result) return;
  $('webhook-rows').replaceChildren(
    ...tableRows(result.endpoints, 5, 'No endpoints registered.', (endpoint) =>
          el('tr', { 'data-endpoint': endpoint.id },
            el('td', { class: 'mono' }, endpoint.url),
            el('td', {}, endpoint.events.join(', ')),
            el('td', {}, endpoint.task ? `task ${endpoint.task}` : endpoint.key_id ? `key ${endpoint.key_id}` : 'everything'),
            el('td', {}, endpoint.disabled_at ? badge('disabled') : when(endpoint.created_at), endpoint.disabled_at ? ` ${endpoint.disabled_reason ?? ''}` : ''),
            el('td', {},
              el('div', { class: 'buttons' },
                ...(endpoint.disabled_at ? [el('button', { type: 'button', onclick: () => enableWebhook(endpoint) }, 'Enable')] : []),
                el('button', { type: 'button', class: 'secondary', onclick: () => testWebhook(endpoint) }, 'Send test'),
                el('button', { type: 'button', class: 'danger', onclick: () => deleteWebhook(endpoint) }, 'Delete'),
              ),
            ),
          ),
        ),
  );
  await loadDeliveries();
}

async function loadDeliveries() {
  const state = $('deliveries-state').value;
  const result = await act('', () => api(`/admin/webhooks/deliveries?${new URLSearchParams(state ? { state, limit: '100' } : { limit: '100' })}`));
  if (!result) return;
  $('delivery-rows').replaceChildren(
    ...tableRows(result.deliveries, 6, 'No deliveries in this state.', (delivery) =>
          el('tr', { 'data-delivery': delivery.id },
            el('td', {}, delivery.event),
            el('td', { class: 'mono' }, delivery.webhook_id),
            el('td', {}, badge(delivery.state)),
            el('td', {}, delivery.attempts),
            el('td', { class: 'mono' }, delivery.endpoint_id),
            el('td', {},
              delivery.state === 'dead'
                ? el('button', { type: 'button', 'aria-label': `Redeliver ${delivery.webhook_id}`, onclick: () => redeliver(delivery) }, 'Redeliver')
                : '–',
            ),
          ),
        ),
  );
}

async function testWebhook(endpoint) {
  const result = await act('', () => api(`/admin/webhooks/${encodeURIComponent(endpoint.id)}/test`, { method: 'POST' }));
  if (result) say(result.delivered ? `Test event delivered to ${endpoint.url} (HTTP ${result.status}).` : `Test event not delivered to ${endpoint.url}${result.status ? ` (HTTP ${result.status})` : ''}.`, result.delivered ? 'ok' : 'bad');
}

async function enableWebhook(endpoint) {
  const enabled = await act(`Enabled ${endpoint.url}: new events are delivered again; redeliver its dead letters if they are still wanted.`, () => api(`/admin/webhooks/${encodeURIComponent(endpoint.id)}/enable`, { method: 'POST' }));
  if (enabled) await loadWebhooks();
}

async function deleteWebhook(endpoint) {
  const removed = await act(`Deleted the endpoint ${endpoint.url}.`, () => api(`/admin/webhooks/${encodeURIComponent(endpoint.id)}`, { method: 'DELETE' }));
  if (removed) await loadWebhooks();
}

async function redeliver(delivery) {
  const result = await act(`Delivery ${delivery.webhook_id} is back in the outbox.`, () => api(`/admin/webhooks/deliveries/${encodeURIComponent(delivery.id)}/redeliver`, { method: 'POST' }));
  if (result) await loadDeliveries();
}

$('webhook-create').addEventListener('submit', async (event) => {
  event.preventDefault();
  const task = $('webhook-task').value.trim();
  const keyId = $('webhook-key').value.trim();
  const body = {
    url: $('webhook-url').value.trim(),
    events: [...document.querySelectorAll('#webhook-create input[type=checkbox]:checked')].map((box) => box.value),
    ...(task ? { task } : {}),
    ...(keyId ? { key_id: keyId } : {}),
  };
  const created = await act(`Registered ${body.url}.`, () => api('/admin/webhooks', { method: 'POST', body }));
  if (!created) return;
  $('webhook-create').reset();
  showSecret([['Signing secret', created.secret]], 'webhook-secret');
  await loadWebhooks();
});
$('deliveries-state').addEventListener('change', () => void loadDeliveries());
$('deliveries-filter').addEventListener('submit', (event) => event.preventDefault());

const LOADERS = { documents: loadDocuments, quarantine: loadQuarantine, reviews: loadReviews, audit: loadAudit, keys: loadKeys, tasks: loadTasks, webhooks: loadWebhooks };
const loadCurrent = () => LOADERS[VIEWS.includes(location.hash.slice(1)) ? location.hash.slice(1) : 'documents']();

$('documents-filter').addEventListener('submit', (event) => {
  event.preventDefault();
  void documentsPager.restart();
});
$('documents-state').addEventListener('change', () => void documentsPager.restart());
$('approve-selected').addEventListener('click', () => void approveSelected());
$('reviews-state').addEventListener('change', () => void reviewsPager.restart());
$('reviews-filter').addEventListener('submit', (event) => event.preventDefault());
$('audit-filter').addEventListener('submit', (event) => {
  event.preventDefault();
  void loadAudit();
});

route();
