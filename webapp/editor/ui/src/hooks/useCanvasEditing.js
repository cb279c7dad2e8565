import { useCallback, useRef } from 'react';
import { applyNodeChanges, applyEdgeChanges } from '@xyflow/react';
import { DND_MIME } from '../components/Palette.jsx';
import { defaultData } from '../lib/fields.js';
import { uniqueId, edgeId } from '../lib/ids.js';
import { freeSpot } from '../lib/placement.js';

/**
 * React Flow's events turned into document changes: moves, deletions, (re)connections, and nodes added from
 * the palette (a click puts the node in a free spot near the middle of the view; a drop puts it where it
 * is dropped). Every handler is stable.
 */
export function useCanvasEditing({ flow, rf, wrapperRef, typesByName, openInspector }) {
  const { setNodes, setEdges, commit, commitSoon } = flow;

  const onNodesChange = useCallback((changes) => {
    setNodes((ns) => applyNodeChanges(changes, ns));
    if (changes.some((c) => c.type === 'remove')) commitSoon();
  }, [setNodes, commitSoon]);
  const onEdgesChange = useCallback((changes) => {
    setEdges((es) => applyEdgeChanges(changes, es));
    if (changes.some((c) => c.type === 'remove')) commitSoon();
  }, [setEdges, commitSoon]);
  const onDragStop = useCallback(() => commitSoon(), [commitSoon]);

  // One edge per output port: connecting a port again replaces its edge.
  const onConnect = useCallback((c) => {
    if (!c.source || !c.target) return;
    setEdges((es) => {
      const kept = es.filter((e) => !(e.source === c.source && (e.sourceHandle ?? null) === (c.sourceHandle ?? null)));
      const id = edgeId(new Set(es.map((e) => e.id)));
      return [...kept, { id, source: c.source, sourceHandle: c.sourceHandle ?? null, target: c.target }];
    });
    commit();
  }, [setEdges, commit]);

  // Dragging an edge end off a handle disconnects it; onto another handle reconnects it. Whether the drag
  // ended on a handle is known only between React Flow's start and end callbacks: a flag, not state.
  const reconnected = useRef(true);
  const onReconnectStart = useCallback(() => { reconnected.current = false; }, []);
  const onReconnect = useCallback((oldEdge, c) => {
    reconnected.current = true;
    setEdges((es) => es.map((e) => (e.id === oldEdge.id
      ? { id: e.id, source: c.source, sourceHandle: c.sourceHandle ?? null, target: c.target } : e)));
    commit();
  }, [setEdges, commit]);
  const onReconnectEnd = useCallback((_, edge) => {
    if (!reconnected.current) {
      setEdges((es) => es.filter((e) => e.id !== edge.id));
      commit();
    }
    reconnected.current = true;
  }, [setEdges, commit]);

  const addNode = useCallback((type, position) => {
    let near = null;
    if (!position) {
      const rect = wrapperRef.current?.getBoundingClientRect();
      const c = rect ? rf.screenToFlowPosition({ x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 }) : { x: 0, y: 0 };
      near = { x: c.x - 120, y: c.y - 50 };
    }
    const data = defaultData(typesByName[type]);
    setNodes((ns) => {
      const id = uniqueId(type, new Set(ns.map((n) => n.id)));
      const pos = position || freeSpot(near, ns);
      return [...ns.map((n) => (n.selected ? { ...n, selected: false } : n)), { id, type, position: pos, data, selected: true }];
    });
    commit();
    openInspector();
  }, [typesByName, rf, wrapperRef, setNodes, commit, openInspector]);

  const onDragOver = useCallback((e) => { e.preventDefault(); e.dataTransfer.dropEffect = 'move'; }, []);
  const onDrop = useCallback((e) => {
    const type = e.dataTransfer.getData(DND_MIME);
    if (!type) return;
    e.preventDefault();
    const p = rf.screenToFlowPosition({ x: e.clientX, y: e.clientY });
    addNode(type, { x: Math.round(p.x - 120), y: Math.round(p.y - 30) });
  }, [rf, addNode]);

  return {
    onNodesChange, onEdgesChange, onDragStop, onConnect, onReconnectStart, onReconnect, onReconnectEnd,
    addNode, onDragOver, onDrop,
  };
}
