import { useCallback } from 'react';
import { documentToFlow, needsLayout } from '../lib/document.js';
import { autoLayout } from '../lib/layout.js';
import { fitOptions, canvasSize } from '../lib/viewport.js';

/**
 * Where nodes are and what the view shows: auto-layout (toolbar, Shift+L), replacing the canvas with another
 * document (import, rollback: laid out when it has no positions) and fitting the view after either.
 */
export function useLayout({ flow, rf, wrapperRef, nodePorts }) {
  const { nodes, edges, setNodes, commit, dispatch } = flow;

  // After React Flow has drawn the new positions.
  const fitSoon = useCallback((laid) => {
    setTimeout(() => rf.fitView(fitOptions(laid, true, canvasSize(wrapperRef.current))), 30);
  }, [rf, wrapperRef]);

  const layout = useCallback(() => {
    const laid = autoLayout(nodes, edges, { portsOf: nodePorts });
    setNodes(laid);
    commit();
    fitSoon(laid);
  }, [nodes, edges, nodePorts, setNodes, commit, fitSoon]);

  /** Replace the canvas with `doc` as one undoable change; returns the number of nodes. */
  const replaceDocument = useCallback((doc, problems) => {
    const { nodes: ns, edges: es, meta } = documentToFlow(doc);
    const laid = needsLayout(doc?.nodes) ? autoLayout(ns, es, { portsOf: nodePorts }) : ns;
    dispatch({ type: 'replaced', nodes: laid, edges: es, meta, problems });
    fitSoon(laid);
    return laid.length;
  }, [nodePorts, dispatch, fitSoon]);

  const fitAll = useCallback(() => rf.fitView({ padding: 0.12, duration: 200 }), [rf]);

  return { layout, replaceDocument, fitAll };
}
