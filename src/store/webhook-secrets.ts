// SIG-7 for outbound webhooks: an endpoint's `whsec_` secret is stored sealed (src/security/secret-box.ts), bound to
// the endpoint's id. Shared by the SQLite and PostgreSQL webhook stores so both store the same sealed form.
import type { SecretBox } from '../security/secret-box.js';

const contextOf = (endpointId: string): string => `webhook_endpoints/${endpointId}/secret`;

export const sealWebhookSecret = (box: SecretBox, endpointId: string, secret: string): string => box.seal(secret, contextOf(endpointId));
export const openWebhookSecret = (box: SecretBox, endpointId: string, sealed: string): string => box.open(sealed, contextOf(endpointId));

/** The secret sealed under the current key, or undefined when it already is. */
export const resealedWebhookSecret = (box: SecretBox, endpointId: string, sealed: string): string | undefined =>
  box.needsResealing(sealed) ? sealWebhookSecret(box, endpointId, openWebhookSecret(box, endpointId, sealed)) : undefined;
