import dagre from '@dagrejs/dagre';

export const NODE_WIDTH = 240;

/** Rough node height (header, id, summary, one row per port) when React Flow has not measured it yet. */
export function estimateHeight(n, portsOf) {
  const ports = portsOf ? portsOf(n).length : 1;
  return 100 + ports * 22;
}

/**
 * Left-to-right layered layout with dagre. Returns new node objects with positions (top-left corner);
 * everything else on the node is kept.
 */
export function autoLayout(nodes, edges, { portsOf, direction = 'LR' } = {}) {
  if (!nodes.length) return nodes;
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: direction, nodesep: 40, ranksep: 90, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  const sizes = new Map();
  for (const n of nodes) {
    const width = n.measured?.width || NODE_WIDTH;
    const height = n.measured?.height || estimateHeight(n, portsOf);
    sizes.set(n.id, { width, height });
    g.setNode(n.id, { width, height });
  }
  for (const e of edges) {
    if (sizes.has(e.source) && sizes.has(e.target)) g.setEdge(e.source, e.target, {}, e.id);
  }
  dagre.layout(g);
  return nodes.map((n) => {
    const p = g.node(n.id);
    const { width, height } = sizes.get(n.id);
    return { ...n, position: { x: Math.round(p.x - width / 2), y: Math.round(p.y - height / 2) } };
  });
}
