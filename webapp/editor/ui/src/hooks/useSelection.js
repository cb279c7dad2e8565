import { useCallback, useMemo } from 'react';

/**
 * The selected nodes and what the inspector and the problems list do with them. The callbacks do not
 * depend on the canvas (they update through `flow` and read React Flow's store), so the memoised inspector
 * and problems list do not re-render while other nodes move.
 */
export function useSelection({ flow, rf, openInspector }) {
  const { nodes, setNodes, commit } = flow;
  const selected = useMemo(() => nodes.filter((n) => n.selected), [nodes]);
  const single = selected.length === 1 ? selected[0] : null;
  const singleId = single?.id;

  const onFieldChange = useCallback((field, value) => {
    if (!singleId) return;
    setNodes((ns) => ns.map((n) => (n.id === singleId ? { ...n, data: { ...n.data, [field]: value } } : n)));
    commit(`field:${singleId}:${field}`);
  }, [singleId, setNodes, commit]);

  const onReplaceData = useCallback((data) => {
    if (!singleId) return;
    setNodes((ns) => ns.map((n) => (n.id === singleId ? { ...n, data } : n)));
    commit(`data:${singleId}`);
  }, [singleId, setNodes, commit]);

  /** Through React Flow, so that the edges of deleted nodes go too (onNodesChange/onEdgesChange). */
  const deleteSelected = useCallback(() => {
    const picked = rf.getNodes().filter((n) => n.selected);
    if (picked.length) rf.deleteElements({ nodes: picked.map((n) => ({ id: n.id })) });
  }, [rf]);

  /** Select one node, centre it and show it in the inspector (a click in the problems or trace list). */
  const focusNode = useCallback((id) => {
    const n = rf.getNode(id);
    if (!n) return;
    setNodes((ns) => ns.map((x) => (x.id === id ? (x.selected ? x : { ...x, selected: true }) : (x.selected ? { ...x, selected: false } : x))));
    const w = n.measured?.width || 240;
    const h = n.measured?.height || 80;
    rf.setCenter(n.position.x + w / 2, n.position.y + h / 2, { zoom: Math.max(rf.getZoom(), 1), duration: 300 });
    openInspector();
  }, [rf, setNodes, openInspector]);

  return { selected, single, onFieldChange, onReplaceData, deleteSelected, focusNode };
}
