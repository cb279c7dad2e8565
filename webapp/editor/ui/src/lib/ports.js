// Output ports of a node: the type's static `ports`, preceded by dynamic ones when the type declares
// `dynamic_ports: {field, key}` (e.g. condition: each rule's id in data.rules becomes a port, plus "else").

export function portsOf(node, meta) {
  if (!meta) return ['out'];
  const fixed = Array.isArray(meta.ports) ? meta.ports : [];
  const dyn = meta.dynamic_ports;
  if (!dyn || !dyn.field) return fixed;
  const items = node?.data?.[dyn.field];
  const key = dyn.key || 'id';
  const ids = Array.isArray(items)
    ? items.map((it) => (it && typeof it === 'object' ? it[key] : null)).filter((v) => v !== null && v !== undefined && v !== '').map(String)
    : [];
  const out = [];
  for (const p of [...ids, ...fixed]) if (!out.includes(p)) out.push(p);
  return out;
}
