import { useCallback, useMemo, useReducer, useRef } from 'react';
import { flowReducer, initialFlowState } from '../lib/flowState.js';
import { canUndo, canRedo } from '../lib/history.js';
import { flowToDocument } from '../lib/document.js';

/**
 * The document being edited (see lib/flowState.js) and the operations on it. Every function returned is
 * stable, so memoised components given them do not re-render when the canvas changes.
 * `setNodes`/`setEdges` take a value or an updater (React Flow's changes); they do not record history:
 * `commit(key)` does, and `commitSoon()` records once for a burst of changes in one tick (React Flow
 * reports a deletion as node changes and edge changes separately).
 */
export function useFlowDocument() {
  const [state, dispatch] = useReducer(flowReducer, initialFlowState);

  const setNodes = useCallback((update) => dispatch({ type: 'nodes', update }), []);
  const setEdges = useCallback((update) => dispatch({ type: 'edges', update }), []);
  const commit = useCallback((key = null) => dispatch({ type: 'commit', key }), []);
  const rename = useCallback((name) => dispatch({ type: 'renamed', name }), []);
  const setMeta = useCallback((key, value) => dispatch({ type: 'metaSet', key, value }), []);
  const undo = useCallback(() => dispatch({ type: 'undo' }), []);
  const redo = useCallback(() => dispatch({ type: 'redo' }), []);

  const pendingCommit = useRef(null);
  const commitSoon = useCallback(() => {
    if (pendingCommit.current) return;
    pendingCommit.current = setTimeout(() => {
      pendingCommit.current = null;
      dispatch({ type: 'commit', key: null });
    }, 0);
  }, []);

  const { nodes, edges, meta, history } = state;
  /** The document as saved: a function, so that moving a node does not rebuild it on every frame. */
  const currentDocument = useCallback(() => flowToDocument(nodes, edges, meta), [nodes, edges, meta]);

  return useMemo(() => ({
    ...state,
    name: meta.name || '',
    canUndo: canUndo(history),
    canRedo: canRedo(history),
    dispatch, setNodes, setEdges, commit, commitSoon, rename, setMeta, undo, redo, currentDocument,
  }), [state, meta, history, setNodes, setEdges, commit, commitSoon, rename, setMeta, undo, redo, currentDocument]);
}
