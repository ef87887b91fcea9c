// Key scopes: `tasks:<task>` or `tasks:*`, `collections:<name>` or `collections:*`, and `admin`. Deny by default.
import { z } from 'zod';

export const Scope = z
  .string()
  .regex(/^(admin|tasks:(\*|[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)|collections:(\*|[a-z][a-z0-9_-]*))$/, 'scope must be admin, tasks:<task|*> or collections:<name|*>');

export interface Principal {
  readonly keyId: string;
  readonly scopes: readonly string[];
}

export const isAdmin = (principal: Principal): boolean => principal.scopes.includes('admin');

export const canCallTask = (principal: Principal, task: string): boolean =>
  principal.scopes.includes('tasks:*') || principal.scopes.includes(`tasks:${task}`);

/**
 * The collections a request may read: the policy's, narrowed by the key's `collections:` scopes when it has any.
 * A key without collection scopes reads what the task's policy allows.
 */
export function allowedCollections(principal: Principal, policyCollections: readonly string[]): string[] {
  const granted = principal.scopes.filter((scope) => scope.startsWith('collections:')).map((scope) => scope.slice('collections:'.length));
  if (granted.length === 0 || granted.includes('*')) return [...policyCollections];
  return policyCollections.filter((collection) => granted.includes(collection));
}
