// Output check `citations_retrieved` (LLM09-1): every cited id must be a chunk that was actually placed in the
// prompt, and a non-abstaining answer must cite at least `min_citations` of them.
import { z } from 'zod';
import type { CheckDefinition } from '../types.js';

export const CitationsRetrievedConfig = z.strictObject({
  field: z.string().min(1).default('citations').describe('Output field holding the cited chunk ids'),
  abstained_field: z
    .string()
    .min(1)
    .default('abstained')
    .describe('Boolean output field; when true, the minimum does not apply (ids must still be retrieved)'),
  min_citations: z.int().min(0).default(1).describe('Minimum distinct retrieved ids a non-abstaining output cites'),
});
export type CitationsRetrievedConfig = z.infer<typeof CitationsRetrievedConfig>;

export const citationsRetrievedCheck: CheckDefinition<CitationsRetrievedConfig> = {
  name: 'citations_retrieved',
  description: 'Cited ids must be retrieved chunk ids; non-abstaining outputs need a minimum number of citations',
  stages: ['output'],
  canRepair: false,
  configSchema: CitationsRetrievedConfig,
  run: (context, value, config) => {
    const cited = value[config.field];
    // A missing or non-array field is a failure, not "zero citations": the check must not pass on a shape it can't read.
    if (!Array.isArray(cited) || !cited.every((id): id is string => typeof id === 'string')) {
      return { tripped: true, reasons: [`${config.field} is missing or not a list of ids`] };
    }
    const reasons: string[] = [];
    const unknown = cited.filter((id) => !context.retrievedChunkIds.has(id));
    if (unknown.length > 0) reasons.push(`${unknown.length} cited id(s) were not retrieved for this request`);
    const distinct = new Set(cited.filter((id) => context.retrievedChunkIds.has(id))).size;
    if (value[config.abstained_field] !== true && distinct < config.min_citations) {
      reasons.push(`cites ${distinct} retrieved chunk(s), needs ${config.min_citations}`);
    }
    return { tripped: reasons.length > 0, reasons };
  },
};
