import { useCallback, useEffect, useMemo, useState } from 'react';
import { createDecorationStore } from '../lib/decorations.js';
import { problemsByNode } from '../lib/problems.js';

/**
 * The marks drawn over the canvas: problem badges, the path of the last test run (nodes glow, edges
 * animate) and a version diff. They live in a decoration store read by each node (see lib/decorations.js),
 * so a new result re-renders only the nodes whose marks change. `onTrace(nodeIds)` and `onDiff(result)` are
 * what the test and versions panels report; `displayEdges` are `edges` with the traced ones animated.
 */
export function useDecorations({ problems, edges }) {
  const decorations = useMemo(createDecorationStore, []);
  useEffect(() => { decorations.setProblems(problemsByNode(problems).byNode); }, [problems, decorations]);

  const [traceIds, setTraceIds] = useState([]);
  const onTrace = useCallback((ids) => setTraceIds(ids || []), []);
  useEffect(() => { decorations.setTrace(traceIds); }, [traceIds, decorations]);
  const traceEdges = useMemo(() => {
    const pairs = new Set();
    for (let i = 1; i < traceIds.length; i += 1) pairs.add(`${traceIds[i - 1]}>${traceIds[i]}`);
    return pairs;
  }, [traceIds]);
  const displayEdges = useMemo(() => (traceEdges.size
    ? edges.map((e) => (traceEdges.has(`${e.source}>${e.target}`) ? { ...e, animated: true, className: 'is-trace' } : e))
    : edges), [edges, traceEdges]);

  const onDiff = useCallback((res) => {
    if (!res) { decorations.setDiff({}); return; }
    const map = {};
    for (const id of res.added || []) map[id] = 'added';
    for (const c of res.changed || []) map[c.id ?? c] = 'changed';
    decorations.setDiff(map);
  }, [decorations]);

  return { decorations, onTrace, onDiff, displayEdges };
}
