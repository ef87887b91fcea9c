// LLM03-4: the sqlite-vec loadable extension is native code that runs inside our process, so its file is hashed and
// compared with a pinned SHA-256 before SQLite is allowed to load it. Anything unexpected fails closed.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as sqliteVec from 'sqlite-vec';

/** The sqlite-vec release the pins below were taken from; must match the version in package.json. */
export const SQLITE_VEC_VERSION = '0.1.9';

/**
 * SHA-256 of the vec0 binary in each published sqlite-vec platform package, keyed `${process.platform}-${process.arch}`.
 *
 * To refresh after upgrading sqlite-vec: in a scratch directory run `npm pack sqlite-vec-<os>-<arch>@<version>` for
 * linux-x64, linux-arm64, darwin-x64, darwin-arm64 and windows-x64 (npm checks each tarball against the registry's
 * integrity, which package-lock.json also records), `tar xzf` each one and `sha256sum package/vec0.*`. Update the table
 * and SQLITE_VEC_VERSION; the linux-x64 value must equal `sha256sum node_modules/sqlite-vec-linux-x64/vec0.so`.
 */
export const PINNED_SQLITE_VEC_SHA256: Readonly<Record<string, string>> = Object.freeze({
  'linux-x64': '5923730861b86c707cca5602b5f91092f9e52a46706dbc6e269fd4bb9c4498e8',
  'linux-arm64': '0b84cbd06418ca3040827deddd650539be05be0f657952426b926c8606217437',
  'darwin-x64': 'd39d33d16d302d57440d9a9cdbe3cc095e8324aa96b979b5171f545a6346996d',
  'darwin-arm64': '193e480c50b59a55977d166f4aaf0e1bc8832d6963516e5950f39e4d2ce0b793',
  'win32-x64': 'fcf98662a7ad9dce394b96a88f91032047823831b951c76636787c312a6476e6',
});

export class ExtensionIntegrityError extends Error {
  override readonly name = 'ExtensionIntegrityError';
}

export interface VerifiedExtension {
  readonly path: string;
  readonly sha256: string;
  /** Whether the expected hash came from the table above or from the operator. */
  readonly source: 'pinned' | 'override';
}

export interface VerifyExtensionOptions {
  /** The operator's expected hash (lower-case hex), replacing the pin; for a rebuilt binary or an unpinned platform. */
  readonly expectedSha256?: string;
  /** Defaults to this process's platform; a parameter so the "no pin" path can be tested on any machine. */
  readonly platform?: string;
}

const OVERRIDE_HINT = 'set AIRLOCK_SQLITE_VEC_SHA256 to the expected hash only if you built or vetted this binary yourself';

/** Hashes the sqlite-vec binary this process would load and returns it only when the hash is the expected one. */
export function verifySqliteVecExtension(options: VerifyExtensionOptions = {}): VerifiedExtension {
  const platform = options.platform ?? `${process.platform}-${process.arch}`;
  const path = sqliteVec.getLoadablePath();
  const pinned = PINNED_SQLITE_VEC_SHA256[platform];
  const expected = options.expectedSha256 ?? pinned;
  if (expected === undefined) {
    throw new ExtensionIntegrityError(
      `sqlite-vec extension ${path}: no pinned SHA-256 for platform ${platform} (sqlite-vec ${SQLITE_VEC_VERSION}); refusing to load it; ${OVERRIDE_HINT}`,
    );
  }
  const actual = createHash('sha256').update(readFileSync(path)).digest('hex');
  if (actual !== expected.toLowerCase()) {
    const origin = options.expectedSha256 === undefined ? `pinned for sqlite-vec ${SQLITE_VEC_VERSION} on ${platform}` : 'from AIRLOCK_SQLITE_VEC_SHA256';
    throw new ExtensionIntegrityError(
      `sqlite-vec extension ${path} failed its integrity check: expected SHA-256 ${expected} (${origin}), actual ${actual}; refusing to load it. ` +
        `If sqlite-vec was upgraded on purpose, refresh the pins in src/store/sqlite/extension-integrity.ts, or ${OVERRIDE_HINT}`,
    );
  }
  return { path, sha256: actual, source: options.expectedSha256 === undefined ? 'pinned' : 'override' };
}
