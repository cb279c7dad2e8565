import { useEffect, useState } from 'react';
import { documentToFlow, needsLayout } from '../lib/document.js';
import { autoLayout } from '../lib/layout.js';
import { portsOf } from '../lib/ports.js';
import { fitOptions, canvasSize } from '../lib/viewport.js';

/**
 * Opens the flow: node types and the draft (from `preload`, started before the first render, or fetched
 * here), laid out when it has no positions, into `flow` (useFlowDocument). A draft stored without its
 * problems is validated once, unless it has been edited by the time the answer comes.
 * Returns {status: 'loading' | 'ready' | 'error', error, nodeTypes, fit}; `fit` is the initial view, computed
 * once: big flows open zoomed on their start, small ones fit entirely.
 */
export function useFlowLoader({ api, preload, flow, wrapperRef }) {
  const { dispatch } = flow;
  const [state, setState] = useState({ status: 'loading', error: '', nodeTypes: [], fit: undefined });

  useEffect(() => {
    let cancelled = false;
    (async () => {
      try {
        const [types, stored] = await (preload || Promise.all([api.nodeTypes(), api.getFlow()]));
        if (cancelled) return;
        const list = types.node_types || [];
        const byName = Object.fromEntries(list.map((nt) => [nt.type, nt]));
        const doc = stored.draft || { schema_version: 1, name: stored.name || '', nodes: [], edges: [] };
        if (!doc.name && stored.name) doc.name = stored.name;
        const { nodes, edges, meta } = documentToFlow(doc);
        const laid = needsLayout(doc.nodes) ? autoLayout(nodes, edges, { portsOf: (n) => portsOf(n, byName[n.type]) }) : nodes;
        dispatch({ type: 'loaded', nodes: laid, edges, meta, problems: stored.problems || [] });
        setState({ status: 'ready', error: '', nodeTypes: list, fit: fitOptions(laid, false, canvasSize(wrapperRef.current)) });
        if (!Array.isArray(stored.problems)) {
          api.validate(doc)
            .then((r) => { if (!cancelled) dispatch({ type: 'problems', problems: r.problems || [], version: 0 }); })
            .catch(() => {});
        }
      } catch (e) {
        if (!cancelled) setState((s) => ({ ...s, status: 'error', error: e.message }));
      }
    })();
    return () => { cancelled = true; };
  }, [api, preload, dispatch, wrapperRef]);

  return state;
}
