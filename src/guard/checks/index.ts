// The built-in check definitions, as a list; registry.ts turns a list into a lookup map.
import type { AnyCheckDefinition } from '../types.js';
import { canaryLeakCheck } from './canary-leak.js';
import { citationsRetrievedCheck } from './citations-retrieved.js';
import { codeInjectionCheck } from './code-injection.js';
import { fieldLimitsCheck } from './field-limits.js';
import { htmlSanitiseCheck } from './html-sanitise.js';
import { jailbreakScreenCheck } from './jailbreak-screen.js';
import { linkAllowlistCheck } from './link-allowlist.js';
import { piiCheck } from './pii.js';
import { plainTextCheck } from './plain-text.js';
import { secretsCheck } from './secrets.js';
import { topicAllowlistCheck } from './topic-allowlist.js';

export const builtInChecks: readonly AnyCheckDefinition[] = [
  secretsCheck,
  piiCheck,
  jailbreakScreenCheck,
  topicAllowlistCheck,
  citationsRetrievedCheck,
  htmlSanitiseCheck,
  linkAllowlistCheck,
  plainTextCheck,
  codeInjectionCheck,
  fieldLimitsCheck,
  canaryLeakCheck,
];
