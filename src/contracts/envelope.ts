// The versioned request envelope every task call carries (contract v1.x). Task `data` is parsed separately per task and version.
import { z } from 'zod';

export const SCHEMA_VERSIONS = ['1.0', '1.1'] as const;
export const SchemaVersion = z.enum(SCHEMA_VERSIONS);
export type SchemaVersion = z.infer<typeof SchemaVersion>;

/** Printable identifiers only: they end up in audit rows, headers and logs. */
const SafeIdentifier = z.string().min(1).max(128).regex(/^[A-Za-z0-9][A-Za-z0-9._:\-]*$/, 'must be letters, digits and . _ : -');

export const TaskRequestEnvelope = z.strictObject({
  schema_version: z.string().max(16),
  source: SafeIdentifier.describe('The calling integration, e.g. n8n, wordpress, hubspot'),
  event_id: SafeIdentifier.describe("The caller's own id for the event that triggered this call"),
  timestamp: z.iso.datetime({ offset: true }).describe('When the caller created the event (RFC 3339)'),
  data: z.record(z.string(), z.unknown()).describe('Task input; its schema depends on the task and schema_version'),
});
export type TaskRequestEnvelope = z.infer<typeof TaskRequestEnvelope>;
