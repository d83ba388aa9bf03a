// Node 20 lacks Object.groupBy / Map.groupBy (Node 21+); the CLI's prisma-ast parser calls it.
if (!Object.groupBy) Object.groupBy = (items, key) => { const out = Object.create(null); let i = 0; for (const it of items) { const k = key(it, i++); (out[k] ??= []).push(it); } return out; };
if (!Map.groupBy) Map.groupBy = (items, key) => { const out = new Map(); let i = 0; for (const it of items) { const k = key(it, i++); if (!out.has(k)) out.set(k, []); out.get(k).push(it); } return out; };
