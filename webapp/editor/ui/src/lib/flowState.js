// The editor's document state as one reducer (pure, so it is unit-tested): the canvas (React Flow nodes and
// edges), the other top-level keys of the document (`meta`, the name among them), the undo history, a
// version that counts document changes, the save state and the problems the server reported.
//
// The version is what keeps answers in order: a save or validation answer names the version it was about,
// and one about a document that has changed since is dropped (the newer one is on its way).

import { fromRfNode, fromRfEdge, toRfNode, toRfEdge } from './document.js';
import { createHistory, record, undo, redo, canUndo, canRedo } from './history.js';
import { pasteClipboard } from './clipboard.js';

export const initialFlowState = Object.freeze({
  nodes: [],
  edges: [],
  meta: { schema_version: 1, name: '' },
  history: createHistory(null),
  version: 0,
  save: { status: 'saved' },
  problems: [],
});

const snapshot = (s) => ({ nodes: s.nodes.map(fromRfNode), edges: s.edges.map(fromRfEdge), meta: s.meta });
const apply = (update, current) => (typeof update === 'function' ? update(current) : update);
const problemsOr = (problems, current) => (Array.isArray(problems) ? problems : current);
const deselect = (n) => (n.selected ? { ...n, selected: false } : n);

/** A document change: one more version, not saved yet. */
const changed = (s) => ({ ...s, version: s.version + 1, save: { status: 'dirty' } });

/** Record the canvas as one undo step (`key` coalesces repeated edits of one thing, e.g. typing). */
const commit = (s, key = null) => changed({ ...s, history: record(s.history, snapshot(s), key) });

/** Show a history snapshot, reusing unchanged node/edge objects so that only what changes re-renders and the
 * selection stays. */
function restore(s) {
  const snap = s.history.present;
  const curNodes = new Map(s.nodes.map((n) => [n.id, n]));
  const nodes = snap.nodes.map((d) => {
    const cur = curNodes.get(d.id);
    if (cur && cur.type === d.type && cur.data === d.data && Math.round(cur.position.x) === d.position.x
      && Math.round(cur.position.y) === d.position.y) return cur;
    const n = toRfNode(d);
    return cur ? { ...n, selected: cur.selected, measured: cur.measured } : n;
  });
  const curEdges = new Map(s.edges.map((e) => [e.id, e]));
  const edges = snap.edges.map((d) => {
    const cur = curEdges.get(d.id);
    return cur && cur.source === d.source && cur.target === d.target && (cur.sourceHandle ?? null) === d.sourceHandle
      ? cur : toRfEdge(d);
  });
  return changed({ ...s, nodes, edges, meta: snap.meta });
}

export function flowReducer(s, a) {
  switch (a.type) {
    case 'loaded': { // the flow as opened: a fresh history, no change yet
      const next = { ...s, nodes: a.nodes, edges: a.edges, meta: a.meta, problems: problemsOr(a.problems, s.problems) };
      return { ...next, history: createHistory(snapshot(next)) };
    }
    case 'replaced': // import, rollback: the new content is one undoable change
      return { ...commit({ ...s, nodes: a.nodes, edges: a.edges, meta: a.meta }), ...(Array.isArray(a.problems) ? { problems: a.problems } : {}) };
    case 'nodes':
      return { ...s, nodes: apply(a.update, s.nodes) };
    case 'edges':
      return { ...s, edges: apply(a.update, s.edges) };
    case 'commit':
      return commit(s, a.key ?? null);
    case 'renamed':
      return commit({ ...s, meta: { ...s.meta, name: a.name } }, 'name');
    case 'metaSet': { // a flow-level setting (e.g. restart_after_minutes); null or '' removes the key
      const { [a.key]: _old, ...rest } = s.meta;
      const meta = a.value === null || a.value === undefined || a.value === '' ? rest : { ...rest, [a.key]: a.value };
      return commit({ ...s, meta }, `meta:${a.key}`);
    }
    case 'pasted': {
      const out = pasteClipboard(a.clip, s.nodes, s.edges);
      return commit({ ...s, nodes: [...s.nodes.map(deselect), ...out.nodes], edges: [...s.edges, ...out.edges] });
    }
    case 'undo':
      return canUndo(s.history) ? restore({ ...s, history: undo(s.history) }) : s;
    case 'redo':
      return canRedo(s.history) ? restore({ ...s, history: redo(s.history) }) : s;
    case 'saveStarted':
      return { ...s, save: { status: 'saving' } };
    case 'saveDone':
      return a.version === s.version
        ? { ...s, save: { status: 'saved', at: a.at }, problems: problemsOr(a.problems, s.problems) }
        : { ...s, save: { status: 'dirty' } };
    case 'saveFailed':
      return { ...s, save: { status: 'error', error: a.error }, problems: problemsOr(a.problems, s.problems) };
    case 'problems': // `version` absent: whatever the document is now (e.g. a refused publish)
      return a.version === undefined || a.version === s.version ? { ...s, problems: a.problems || [] } : s;
    default:
      throw new Error(`unknown flow action ${a.type}`);
  }
}
