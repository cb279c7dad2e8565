// Readable, unique ids: "<type>_<n>" for nodes, "e<n>" for edges.

export function uniqueId(prefix, taken) {
  const used = taken instanceof Set ? taken : new Set(taken);
  const base = String(prefix || 'node').replace(/[^A-Za-z0-9_-]/g, '_');
  for (let i = 1; ; i += 1) {
    const id = `${base}_${i}`;
    if (!used.has(id)) return id;
  }
}

export function edgeId(taken) {
  const used = taken instanceof Set ? taken : new Set(taken);
  for (let i = used.size + 1; ; i += 1) {
    const id = `e${i}`;
    if (!used.has(id)) return id;
  }
}
