import { uniqueId, edgeId } from './ids.js';
import { fromRfNode, fromRfEdge } from './document.js';

/** Copy the selected nodes and the edges running between them (document shape, deep-copied). */
export function copySelection(nodes, edges) {
  const picked = nodes.filter((n) => n.selected);
  const ids = new Set(picked.map((n) => n.id));
  const inner = edges.filter((e) => ids.has(e.source) && ids.has(e.target));
  return JSON.parse(JSON.stringify({ nodes: picked.map(fromRfNode), edges: inner.map(fromRfEdge) }));
}

/**
 * Give pasted nodes/edges fresh ids that collide with nothing on the canvas, rewire the edges to the new
 * ids, offset positions, and mark the pasted nodes selected.
 */
export function pasteClipboard(clip, existingNodes, existingEdges, offset = { x: 40, y: 40 }) {
  const takenNodes = new Set(existingNodes.map((n) => n.id));
  const takenEdges = new Set(existingEdges.map((e) => e.id));
  const idMap = {};
  const nodes = clip.nodes.map((n) => {
    const id = uniqueId(n.type, takenNodes);
    takenNodes.add(id);
    idMap[n.id] = id;
    return {
      id,
      type: n.type,
      position: { x: (n.position?.x || 0) + offset.x, y: (n.position?.y || 0) + offset.y },
      data: JSON.parse(JSON.stringify(n.data || {})),
      selected: true,
    };
  });
  const edges = clip.edges
    .filter((e) => idMap[e.source] && idMap[e.target])
    .map((e) => {
      const id = edgeId(takenEdges);
      takenEdges.add(id);
      return { id, source: idMap[e.source], sourceHandle: e.sourceHandle ?? null, target: idMap[e.target] };
    });
  return { nodes, edges, idMap };
}
