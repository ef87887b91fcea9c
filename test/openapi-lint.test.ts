// Issue 13 item 6: /openapi.json, as the server serves it, passes an OpenAPI 3.1 linter (Redocly's recommended
// rules) with no errors, so generators and API portals that users point at it accept it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { createTestContext } from './helpers/context.js';

test('openapi.json, when linted with the recommended OpenAPI 3.1 rules, then reports no errors (issue 13 item 6)', async () => {
  const ctx = await createTestContext();
  try {
    const response = await request(ctx.app).get('/openapi.json');
    assert.equal(response.status, 200);
    assert.equal(response.body.openapi, '3.1.0');
    const problems = await lintFromString({
      source: JSON.stringify(response.body),
      absoluteRef: 'openapi.json',
      config: await createConfig({ extends: ['recommended'] }),
    });
    const described = problems.filter((problem) => problem.severity === 'error').map((problem) => `${problem.severity} ${problem.ruleId}: ${problem.message} at ${problem.location[0]?.pointer ?? '?'}`);
    assert.deepEqual(described, []);
  } finally {
    await ctx.close();
  }
});

/** Every route the app registers, as `method path` with OpenAPI `{param}` syntax. */
function registeredRoutes(app: unknown): string[] {
  type Layer = { route?: { path: string | string[]; methods: Record<string, boolean> }; handle?: { stack?: Layer[] } };
  const walk = (stack: readonly Layer[]): string[] =>
    stack.flatMap((layer) => {
      if (layer.route !== undefined) {
        const methods = Object.keys(layer.route.methods).filter((method) => method !== '_all');
        // A catch-all (every method, for a 405 answer) is not an operation of its own.
        if (methods.length > 10) return [];
        const paths = ([] as string[]).concat(layer.route.path);
        return methods.flatMap((method) => paths.map((path) => `${method} ${path.replace(/:(\w+)/g, '{$1}')}`));
      }
      return walk(layer.handle?.stack ?? []);
    });
  return walk((app as { router: { stack: Layer[] } }).router.stack);
}

test('openapi.json, when compared with the routes the app serves, then documents every API route, admin ones included (issue 13 item 6)', async () => {
  const ctx = await createTestContext();
  try {
    const document = (await request(ctx.app).get('/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    const documented = new Set(Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`)));
    const api = registeredRoutes(ctx.app).filter((route) => !route.includes(' /console'));
    assert.ok(api.some((route) => route.startsWith('post /admin/')), 'the walk finds the admin routes');
    assert.deepEqual(api.filter((route) => !documented.has(route)), []);
  } finally {
    await ctx.close();
  }
});
