// RFC 9457 problem details as a contract, for the OpenAPI document and for clients.
import { z } from 'zod';

export const ProblemDetails = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.int(),
  detail: z.string().optional(),
  instance: z.string(),
  code: z.string(),
  request_id: z.string(),
  retryable: z.boolean(),
  errors: z.array(z.strictObject({ path: z.string(), pointer: z.string().optional(), message: z.string() })).optional(),
  review_id: z.string().optional(),
});
export type ProblemDetails = z.infer<typeof ProblemDetails>;
