// Line-level unified diff between two document versions, for admin review of what an update changes.

/** Longest-common-subsequence diff; fine for documents of a few thousand lines, which is what the corpus accepts. */
export function unifiedDiff(before: string, after: string, labels: { from: string; to: string }, context = 3): string {
  const a = before.split('\n');
  const b = after.split('\n');
  const lcs: Uint32Array[] = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i -= 1) {
    const row = lcs[i] as Uint32Array;
    const below = lcs[i + 1] as Uint32Array;
    for (let j = b.length - 1; j >= 0; j -= 1) {
      row[j] = a[i] === b[j] ? (below[j + 1] ?? 0) + 1 : Math.max(below[j] ?? 0, row[j + 1] ?? 0);
    }
  }
  const ops: { kind: ' ' | '-' | '+'; line: string; aLine: number; bLine: number }[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) ops.push({ kind: ' ', line: a[i++] ?? '', aLine: i, bLine: ++j });
    else if (j < b.length && (i >= a.length || (lcs[i]?.[j + 1] ?? 0) >= (lcs[i + 1]?.[j] ?? 0))) {
      ops.push({ kind: '+', line: b[j++] ?? '', aLine: i, bLine: j });
    } else ops.push({ kind: '-', line: a[i++] ?? '', aLine: i, bLine: j });
  }
  const out = [`--- ${labels.from}`, `+++ ${labels.to}`];
  let index = 0;
  while (index < ops.length) {
    const change = ops.findIndex((op, k) => k >= index && op.kind !== ' ');
    if (change < 0) break;
    const start = Math.max(index, change - context);
    let end = change;
    // Extend the hunk while the next change is within 2×context unchanged lines.
    for (let k = change; k < ops.length; k += 1) {
      if (ops[k]?.kind !== ' ') end = k;
      else if (k - end > context * 2) break;
    }
    const stop = Math.min(ops.length, end + context + 1);
    const hunk = ops.slice(start, stop);
    const first = hunk[0];
    const aCount = hunk.filter((op) => op.kind !== '+').length;
    const bCount = hunk.filter((op) => op.kind !== '-').length;
    // An op records lines consumed so far; a hunk opening with an insertion starts after the last consumed line.
    const aStart = first ? first.aLine + (first.kind === '+' ? 1 : 0) : 0;
    const bStart = first ? first.bLine + (first.kind === '-' ? 1 : 0) : 0;
    out.push(`@@ -${aStart},${aCount} +${bStart},${bCount} @@`, ...hunk.map((op) => `${op.kind}${op.line}`));
    index = stop;
  }
  return out.join('\n');
}
