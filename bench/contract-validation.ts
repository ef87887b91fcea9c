// Issue 18: per-call cost of contract validation, ajv (task folder JSON Schemas, compiled once at load) against the
// zod parse it replaced (the support.answer contracts as they were in src/contracts/tasks.ts). One input and one
// output validation per call, as the pipeline does. Run: node --import tsx bench/contract-validation.ts
// Figures from a shared, loaded machine are indicative only; compare the two rows of one run, not runs.
import { join } from 'node:path';
import { z } from 'zod';
import { loadTaskFolders } from '../src/tasks/load.js';
import { createCheckRegistry } from '../src/guard/registry.js';
import { offlineRefusal } from '../src/model/offline.js';

const Text = (max: number) => z.string().trim().min(1).max(max);
const ZodInput = z.strictObject({ question: Text(2000), locale: z.enum(['en', 'de', 'fr', 'es', 'nl']).optional() });
const ZodOutput = z.strictObject({
  answer: z.string().max(4000),
  citations: z.array(z.string().max(200)).max(10),
  confidence: z.number().min(0).max(1),
  abstained: z.boolean(),
});

const task = loadTaskFolders(join(import.meta.dirname, '..', 'tasks'), { checks: createCheckRegistry(), allowedModels: [], offlineRefusal }).find((candidate) => candidate.name === 'support.answer');
if (task === undefined) throw new Error('tasks/support.answer is missing');

const input = { question: 'How many business days until my refund is paid?', locale: 'en' };
const output = { answer: 'Refunds are paid within 5 business days of the return arriving.', citations: ['refunds#0', 'refunds#1'], confidence: 0.82, abstained: false };
const CALLS = 200_000;

function measure(name: string, call: () => boolean): void {
  for (let i = 0; i < 20_000; i += 1) if (!call()) throw new Error(`${name}: a valid contract failed`);
  const started = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i += 1) call();
  const ns = Number(process.hrtime.bigint() - started) / CALLS;
  console.log(`${name.padEnd(34)} ${(ns / 1000).toFixed(2)} µs per call (input + output)`);
}

measure('zod safeParse (before issue 18)', () => ZodInput.safeParse(input).success && ZodOutput.safeParse(output).success);
measure('ajv compiled once (task folders)', () => task.validateInput('1.1', input).ok && task.outputErrors(output).length === 0);
