// Counts the commits SQLite has written to a database's write-ahead log, read from the -wal file itself (WAL format:
// a 32-byte header with the salts, then frames with a 24-byte header whose second word is non-zero only on the last
// frame of a commit). Only frames carrying the header's salts belong to the current log. The connection writing the
// file must have wal_autocheckpoint = 0, so the log is never restarted under the count.
import { readFileSync } from 'node:fs';

export function walCommits(databasePath: string): number {
  const wal = readFileSync(`${databasePath}-wal`);
  if (wal.length < 32) return 0;
  const pageSize = wal.readUInt32BE(8);
  const [salt1, salt2] = [wal.readUInt32BE(16), wal.readUInt32BE(20)];
  let commits = 0;
  for (let offset = 32; offset + 24 + pageSize <= wal.length; offset += 24 + pageSize) {
    if (wal.readUInt32BE(offset + 8) !== salt1 || wal.readUInt32BE(offset + 12) !== salt2) break;
    if (wal.readUInt32BE(offset + 4) !== 0) commits += 1;
  }
  return commits;
}
