// The finishing writes of a call (see FinishingWrite): those a transaction on one SQLite file takes, and the rest,
// which run on their own once the outcome is committed.
import type { FileStatements, FileWrite, FinishingWrite } from './types.js';

/** Splits `writes` into the statements a transaction on `file` runs and the writes that run after it. */
export function splitFinishing(writes: readonly FinishingWrite[] | undefined, file: object | undefined): { readonly joined: FileWrite[]; readonly after: FinishingWrite[] } {
  const joined: FileWrite[] = [];
  const after: FinishingWrite[] = [];
  for (const write of writes ?? []) {
    if (write.inFile !== undefined && write.inFile.file === file) joined.push(write.inFile);
    else after.push(write);
  }
  return { joined, after };
}

/** Runs writes on their own; each settles its own failure (FinishingWrite.run never rejects). */
export async function runFinishing(writes: readonly FinishingWrite[] | undefined): Promise<void> {
  await Promise.all((writes ?? []).map((write) => write.run()));
}

/**
 * Something settled exactly once (a reservation, a slot, a webhook-id), whichever comes first: a direct call, or a
 * finishing write run on its own or committed in an outcome's transaction.
 */
export function settleOnce() {
  let done = false;
  const now = async (perform: () => Promise<unknown>): Promise<void> => {
    if (done) return;
    done = true;
    await perform();
  };
  return {
    get done(): boolean {
      return done;
    },
    /** Performs the settlement unless it is done; a second call does nothing, even while the first runs. */
    now,
    /** The settlement as a finishing write; `statements` is the same change on the embedded file, when it lives there. */
    write(perform: () => Promise<unknown>, statements?: FileStatements): FinishingWrite {
      return {
        run: () => now(perform).catch(() => undefined),
        ...(statements === undefined
          ? {}
          : {
              inFile: {
                file: statements.file,
                apply: () => {
                  if (!done) statements.apply();
                },
                committed: () => {
                  done = true;
                },
              },
            }),
      };
    },
  };
}
