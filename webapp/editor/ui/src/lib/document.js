// Document <-> React Flow mapping. The saved document is exactly
// {schema_version, name, nodes: [{id, type, position: {x, y}, data}], edges: [{id, source, sourceHandle, target}]}
// plus any unknown top-level keys, which round-trip unchanged.

export const SCHEMA_VERSION = 1;

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Document node -> React Flow node. RF's `type` is the flow node type (a generic component renders all). */
export function toRfNode(n) {
  const p = n.position || {};
  return {
    id: String(n.id),
    type: n.type,
    position: { x: num(p.x), y: num(p.y) },
    data: n.data && typeof n.data === 'object' ? n.data : {},
  };
}

export function toRfEdge(e) {
  return {
    id: String(e.id),
    source: String(e.source),
    sourceHandle: e.sourceHandle ?? null,
    target: String(e.target),
  };
}

/** Split a document into {nodes, edges, meta}; meta keeps every other top-level key (name included). */
export function documentToFlow(doc) {
  const src = doc && typeof doc === 'object' ? doc : {};
  const { nodes = [], edges = [], ...meta } = src;
  if (meta.schema_version === undefined) meta.schema_version = SCHEMA_VERSION;
  if (meta.name === undefined) meta.name = '';
  return {
    nodes: (Array.isArray(nodes) ? nodes : []).map(toRfNode),
    edges: (Array.isArray(edges) ? edges : []).map(toRfEdge),
    meta,
  };
}

export function fromRfNode(n) {
  return {
    id: n.id,
    type: n.type,
    position: { x: Math.round(num(n.position?.x)), y: Math.round(num(n.position?.y)) },
    data: n.data || {},
  };
}

export function fromRfEdge(e) {
  return { id: e.id, source: e.source, sourceHandle: e.sourceHandle ?? null, target: e.target };
}

/** React Flow state -> saved document (RF-only keys such as selected/measured/dragging are dropped). */
export function flowToDocument(nodes, edges, meta = {}) {
  const { nodes: _n, edges: _e, ...rest } = meta;
  return {
    schema_version: rest.schema_version ?? SCHEMA_VERSION,
    name: rest.name ?? '',
    ...rest,
    nodes: nodes.map(fromRfNode),
    edges: edges.map(fromRfEdge),
  };
}

/** True when the flow has no usable layout (positions missing or all at the origin). */
export function needsLayout(docNodes) {
  if (!Array.isArray(docNodes) || docNodes.length === 0) return false;
  if (docNodes.length === 1) return !docNodes[0].position;
  return docNodes.every((n) => !n.position || (num(n.position.x) === 0 && num(n.position.y) === 0));
}

/**
 * The flow document inside an imported JSON file: a bare document, a template file
 * ({key, name, ..., document}) or an API answer ({draft} / {document}). Returns null when none is found.
 */
export function extractDocument(json) {
  if (!json || typeof json !== 'object') return null;
  if (Array.isArray(json.nodes)) return json;
  for (const key of ['document', 'draft']) {
    const inner = json[key];
    if (inner && typeof inner === 'object' && Array.isArray(inner.nodes)) {
      return inner.name || !json.name ? inner : { ...inner, name: json.name };
    }
  }
  return null;
}
