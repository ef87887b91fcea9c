// Embedder over any OpenAI-compatible /embeddings endpoint, batched, with the SDK's timeout and retry handling.
import OpenAI from 'openai';
import { AppError } from '../../errors.js';
import type { Embedder } from '../types.js';
import { normalise } from './hashing.js';

export interface OpenAiEmbedderOptions {
  readonly model: string;
  readonly dimension: number;
  readonly apiKey: string;
  readonly baseURL?: string;
  readonly timeoutMs?: number;
  readonly maxRetries?: number;
  readonly batchSize?: number;
  /** Ask the server to shorten vectors (text-embedding-3-*); leave off for models without the parameter. */
  readonly sendDimensions?: boolean;
  /** Injected in tests; built from the options otherwise. */
  readonly client?: Pick<OpenAI, 'embeddings'>;
}

export function createOpenAiEmbedder(options: OpenAiEmbedderOptions): Embedder {
  const client =
    options.client ??
    new OpenAI({
      apiKey: options.apiKey,
      ...(options.baseURL === undefined ? {} : { baseURL: options.baseURL }),
      timeout: options.timeoutMs ?? 30_000,
      maxRetries: options.maxRetries ?? 2,
    });
  const batchSize = options.batchSize ?? 96;

  async function embedBatch(batch: readonly string[]): Promise<Float32Array[]> {
    let response: Awaited<ReturnType<OpenAI['embeddings']['create']>>;
    try {
      response = await client.embeddings.create({
        model: options.model,
        input: [...batch],
        encoding_format: 'float',
        ...(options.sendDimensions === true ? { dimensions: options.dimension } : {}),
      });
    } catch (cause) {
      throw new AppError('upstream_unavailable', { detail: 'embedding request failed', cause });
    }
    // The API may return items out of order; `index` is the contract.
    const vectors = new Array<Float32Array>(batch.length);
    for (const item of response.data) {
      if (item.embedding.length !== options.dimension) {
        throw new AppError('upstream_rejected', {
          detail: `embedding model returned ${item.embedding.length} dimensions, configured ${options.dimension}`,
        });
      }
      vectors[item.index] = normalise(Float32Array.from(item.embedding));
    }
    for (let i = 0; i < batch.length; i += 1) {
      if (vectors[i] === undefined) throw new AppError('upstream_rejected', { detail: 'embedding response did not cover every input' });
    }
    return vectors;
  }

  return {
    name: `openai:${options.model}`,
    dimension: options.dimension,
    async embed(texts) {
      const out: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += batchSize) out.push(...(await embedBatch(texts.slice(i, i + batchSize))));
      return out;
    },
  };
}
