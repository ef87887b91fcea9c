// The retrieval engine's chunk ids by rowid, held compactly. Ids of the form chunking.ts's chunkId() gives,
// `${documentId}#${ordinal}-${16 hex digits}`, are kept as the ordinal and the 64-bit hash in typed arrays (12 bytes a
// chunk, where the string cost ~40 at 100k chunks, BENCHMARKS.md "Lexical top-k and memory") and spelled out again
// only for the chunks a search returns or must tell apart; any other id is kept as it came.
import { grownCapacity, widened } from './typed-arrays.js';

export interface ChunkIds {
  set(rowid: number, documentId: string, chunkId: string): void;
  /** The id stored for `rowid`, given the document id it was stored with. */
  get(rowid: number, documentId: string): string;
  delete(rowid: number): void;
}

/** The part of a compact id after `${documentId}#`: a canonical ordinal (no leading zero), a dash, two 8-hex halves. */
const COMPACT_TAIL = /^(0|[1-9]\d{0,8})-([0-9a-f]{8})([0-9a-f]{8})$/;

const hex8 = (value: number): string => value.toString(16).padStart(8, '0');

export function createChunkIds(): ChunkIds {
  // ordinals[rowid] is the ordinal + 1 of a compact id, 0 otherwise; hashes holds its two halves at 2·rowid, 2·rowid + 1.
  let ordinals = new Uint32Array(1024);
  let hashes = new Uint32Array(2048);
  const spelled = new Map<number, string>();

  return {
    set(rowid, documentId, chunkId) {
      this.delete(rowid);
      const tail = chunkId.startsWith(`${documentId}#`) ? COMPACT_TAIL.exec(chunkId.slice(documentId.length + 1)) : null;
      if (tail === null) {
        spelled.set(rowid, chunkId);
        return;
      }
      if (rowid >= ordinals.length) {
        const capacity = Math.max(rowid + 1, grownCapacity(ordinals.length));
        ordinals = widened(ordinals, capacity);
        hashes = widened(hashes, 2 * capacity);
      }
      ordinals[rowid] = Number(tail[1]) + 1;
      hashes[2 * rowid] = Number.parseInt(tail[2] as string, 16);
      hashes[2 * rowid + 1] = Number.parseInt(tail[3] as string, 16);
    },
    get(rowid, documentId) {
      const ordinal = rowid < ordinals.length ? (ordinals[rowid] as number) : 0;
      if (ordinal === 0) return spelled.get(rowid) ?? '';
      return `${documentId}#${ordinal - 1}-${hex8(hashes[2 * rowid] as number)}${hex8(hashes[2 * rowid + 1] as number)}`;
    },
    delete(rowid) {
      if (rowid < ordinals.length) ordinals[rowid] = 0;
      spelled.delete(rowid);
    },
  };
}
