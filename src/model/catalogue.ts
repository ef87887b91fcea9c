// Which model serves a task: the one its task.json names ("offline" or an id on AIRLOCK_ALLOWED_MODELS) or the
// configured default. A task no configured model can fill is answered 503 model_not_configured, never with
// invented output, and never stops the server from starting.
import { AppError } from '../errors.js';
import type { ModelClient, ModelTask } from './types.js';

export interface ModelCatalogue {
  /** The client for a task, or throws model_not_configured saying why. `model` is the task's own choice, if any. */
  forTask(model: string | undefined, task: ModelTask): ModelClient;
  /** Why no model serves the task, or undefined when one does; for boot messages and `tasks check`. */
  refusal(model: string | undefined, task: ModelTask): string | undefined;
}

/** `named` holds the clients a task may pick by id ("offline" and the allowed upstream ids this deployment configured). */
export function createModelCatalogue(defaultModel: ModelClient, named: ReadonlyMap<string, ModelClient>): ModelCatalogue {
  const refusal = (model: string | undefined, task: ModelTask): string | undefined => {
    const client = model === undefined ? defaultModel : named.get(model);
    if (client === undefined) return `it is routed to model "${model}", and no upstream is configured for it (set OPENAI_API_KEY or AIRLOCK_UPSTREAM_BASE_URL)`;
    const refused = client.refuses?.(task);
    return refused === undefined ? undefined : `the ${client.provider} model cannot fill it: ${refused}; configure an upstream model (OPENAI_API_KEY or AIRLOCK_UPSTREAM_BASE_URL)`;
  };
  return {
    refusal,
    forTask(model, task) {
      const reason = refusal(model, task);
      if (reason !== undefined) throw new AppError('model_not_configured', { detail: `${task.name} cannot be served: ${reason}.` });
      return model === undefined ? defaultModel : (named.get(model) as ModelClient);
    },
  };
}
