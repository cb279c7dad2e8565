// Per-node decorations (problem badges, test-path highlight, diff status) live outside React Flow's node
// data so that a validation or simulation result re-renders only the nodes whose decoration changed.

const EMPTY = Object.freeze({ errors: 0, warnings: 0, messages: [], trace: false, diff: null });

function same(a, b) {
  return (
    a.errors === b.errors && a.warnings === b.warnings && a.trace === b.trace && a.diff === b.diff &&
    a.messages.length === b.messages.length && a.messages.every((m, i) => m === b.messages[i])
  );
}

export function createDecorationStore() {
  let layers = { problems: {}, trace: new Set(), diff: {} };
  let combined = new Map();
  const listeners = new Set();

  function rebuild() {
    const ids = new Set([...Object.keys(layers.problems), ...layers.trace, ...Object.keys(layers.diff)]);
    const next = new Map();
    for (const id of ids) {
      const p = layers.problems[id];
      const d = {
        errors: p?.errors || 0,
        warnings: p?.warnings || 0,
        messages: p?.messages || [],
        trace: layers.trace.has(id),
        diff: layers.diff[id] || null,
      };
      const prev = combined.get(id);
      next.set(id, prev && same(prev, d) ? prev : d);
    }
    combined = next;
    listeners.forEach((l) => l());
  }

  return {
    get: (id) => combined.get(id) || EMPTY,
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    setProblems(byNode) {
      layers = { ...layers, problems: byNode || {} };
      rebuild();
    },
    setTrace(ids) {
      layers = { ...layers, trace: new Set(ids || []) };
      rebuild();
    },
    setDiff(map) {
      layers = { ...layers, diff: map || {} };
      rebuild();
    },
  };
}
