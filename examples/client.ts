// A runnable tour of the client: one call per bundled task, each output parsed by the caller and treated as untrusted
// data. lead.classify and content.draft need a configured model (the offline provider fills only grounded answers).
//
//   AIRLOCK_URL=http://localhost:8080 AIRLOCK_API_KEY=ak_dev_… node --import tsx examples/client.ts
//
// Optional: AIRLOCK_SIGNING_SECRET=whsec_… when the key was created with --signed.
// In your own project import from the package instead: `import { createAirlockClient } from 'airlock/client'`.
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { AirlockProblemError, createAirlockClient } from '../src/index.js';

// The caller's own view of each task's output: parsing it earns the static type (the schemas live in tasks/<name>/).
const LEAD_NEXT_ACTIONS = ['book_demo', 'send_pricing', 'route_to_support', 'forward_to_partnerships', 'nurture', 'discard'] as const;
const Answer = z.object({ answer: z.string(), abstained: z.boolean() });
const Lead = z.object({ category: z.string(), score: z.number(), next_action: z.string() });
const Draft = z.object({ title: z.string(), outline: z.array(z.string()), status: z.literal('draft') });

type Log = (line: string) => void;

/** Runs the three tasks against AIRLOCK_URL; resolves to a process exit code. */
export async function main(env: Readonly<Record<string, string | undefined>>, log: Log = console.log): Promise<number> {
  const baseUrl = env['AIRLOCK_URL'];
  const apiKey = env['AIRLOCK_API_KEY'];
  if (!baseUrl || !apiKey) {
    log('Set AIRLOCK_URL (e.g. http://localhost:8080) and AIRLOCK_API_KEY (an Airlock key with tasks:* scope).');
    return 2;
  }
  const signingSecret = env['AIRLOCK_SIGNING_SECRET'];
  const airlock = createAirlockClient({ baseUrl, apiKey, source: 'example-script', ...(signingSecret ? { signingSecret } : {}) });
  const runId = Date.now().toString(36);

  try {
    // support.answer: an answer grounded in the approved corpus, or an abstention.
    const answer = await airlock.runTask('support.answer', { question: 'Can I return a bag of coffee I have not opened?' }, { eventId: `example-support-${runId}`, parseOutput: (output) => Answer.parse(output) });
    if (answer.status === 'ok' && !answer.output.abstained) {
      log(`support.answer (${answer.request_id}): ${answer.output.answer}`);
      log(`  cited: ${answer.citations.map((citation) => `${citation.document_id}@v${citation.document_version}`).join(', ')}`);
    } else {
      log(`support.answer (${answer.request_id}): no grounded answer; hand the question to a person.`);
    }

    // lead.classify: the idempotency key comes from your own event id, so re-running this job replays, not repeats.
    const lead = { name: 'Sanne de Vries', email: 'sanne@example.org', company: 'Kade Architects', message: 'We are 25 people in Utrecht. What would an office coffee plan cost?', consent: true };
    const eventId = `example-lead-${runId}`;
    const classified = await airlock.runTask('lead.classify', lead, { eventId, idempotencyKey: `lead-${eventId}`, parseOutput: (output) => Lead.parse(output) });
    // The output is schema-valid but untrusted: check it against your own rules before any side effect.
    const action = classified.output.next_action;
    const known = (LEAD_NEXT_ACTIONS as readonly string[]).includes(action);
    const needsConsent = action === 'send_pricing' || action === 'nurture';
    if (classified.status !== 'ok' || !known || (needsConsent && !lead.consent)) {
      log(`lead.classify (${classified.request_id}): route to a person (${action}).`);
    } else {
      log(`lead.classify (${classified.request_id}): ${classified.output.category}, score ${classified.output.score}, next: ${action}`);
    }

    // content.draft: always a draft; its policy requires an Idempotency-Key, which the client sends automatically.
    const draft = await airlock.runTask('content.draft', { topic: 'How our taste guarantee works', audience: 'new subscribers', keywords: ['taste guarantee', 'returns'] }, { parseOutput: (output) => Draft.parse(output) });
    log(`content.draft (${draft.request_id}): "${draft.output.title}" (${draft.output.outline.length} sections, status ${draft.output.status})`);
    log('  body_html is sanitised by Airlock, but escape or sanitise it again in your CMS before publishing.');
    return 0;
  } catch (error) {
    if (error instanceof AirlockProblemError) {
      // A problem, not a result: log the request id (it finds the call in the audit trail) and, when set, the review id.
      log(`Airlock said ${error.status} ${error.code} (request ${error.requestId}${error.reviewId ? `, review ${error.reviewId}` : ''}): ${error.problem.detail ?? error.problem.title}`);
      return 1;
    }
    throw error;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.env);
}
