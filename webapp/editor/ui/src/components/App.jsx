import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import {
  ReactFlow, Background, Controls, MiniMap, MarkerType, useReactFlow, applyNodeChanges, applyEdgeChanges,
} from '@xyflow/react';
import FlowNode from './FlowNode.jsx';
import Palette, { DND_MIME } from './Palette.jsx';
import Inspector from './Inspector.jsx';
import { ProblemsList, HelpPopover } from './Extras.jsx';
import SidePanel from './SidePanel.jsx';
import { useShortcuts } from '../hooks/useShortcuts.js';
import { useDraftSync } from '../hooks/useDraftSync.js';
import { EditorContext } from '../context.js';
import { createDecorationStore } from '../lib/decorations.js';
import { documentToFlow, flowToDocument, needsLayout, extractDocument, toRfNode, toRfEdge, fromRfNode, fromRfEdge } from '../lib/document.js';
import { createHistory, record, undo as hUndo, redo as hRedo, canUndo, canRedo } from '../lib/history.js';
import { copySelection, pasteClipboard } from '../lib/clipboard.js';
import { autoLayout } from '../lib/layout.js';
import { problemsByNode, hasErrors, countBySeverity } from '../lib/problems.js';
import { defaultData } from '../lib/fields.js';
import { uniqueId, edgeId } from '../lib/ids.js';
import { portsOf } from '../lib/ports.js';
import { freeSpot } from '../lib/placement.js';
import { fitOptions, canvasSize } from '../lib/viewport.js';
import { colorFor } from './FlowNode.jsx';

const DEFAULT_EDGE = { markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 } };

export default function App({ api, t, preload }) {
  const rf = useReactFlow();
  const wrapperRef = useRef(null);
  const fileRef = useRef(null);
  const decorations = useMemo(createDecorationStore, []);

  const [loadError, setLoadError] = useState('');
  const [ready, setReady] = useState(false);
  const [nodeTypeList, setNodeTypeList] = useState([]);
  const [nodes, setNodesState] = useState([]);
  const [edges, setEdgesState] = useState([]);
  const nodesRef = useRef([]);
  const edgesRef = useRef([]);
  const metaRef = useRef({ schema_version: 1, name: '' });
  const [name, setNameState] = useState('');
  const histRef = useRef(createHistory(null));
  const [, setHistTick] = useState(0);
  const [changeTick, setChangeTick] = useState(0);
  const tickRef = useRef(0);
  const [save, setSave] = useState({ status: 'saved' });
  const [problems, setProblems] = useState([]);
  const [tab, setTab] = useState('inspector');
  const [collapsed, setCollapsed] = useState(false);
  const [toast, setToast] = useState(null);
  const [helpOpen, setHelpOpen] = useState(false);
  const [traceIds, setTraceIds] = useState([]);
  const [publishing, setPublishing] = useState(false);
  const clipboardRef = useRef(null);

  const typesByName = useMemo(() => Object.fromEntries(nodeTypeList.map((nt) => [nt.type, nt])), [nodeTypeList]);
  const nodePorts = useCallback((n) => portsOf(n, typesByName[n.type]), [typesByName]);

  const setNodes = useCallback((u) => {
    const next = typeof u === 'function' ? u(nodesRef.current) : u;
    nodesRef.current = next;
    setNodesState(next);
  }, []);
  const setEdges = useCallback((u) => {
    const next = typeof u === 'function' ? u(edgesRef.current) : u;
    edgesRef.current = next;
    setEdgesState(next);
  }, []);

  const notify = useCallback((text, kind = 'info') => {
    setToast({ text, kind, at: Date.now() });
  }, []);
  useEffect(() => {
    if (!toast) return undefined;
    const id = setTimeout(() => setToast(null), toast.kind === 'error' ? 6000 : 3000);
    return () => clearTimeout(id);
  }, [toast]);

  const currentDocument = useCallback(
    () => flowToDocument(nodesRef.current, edgesRef.current, metaRef.current), [],
  );
  const snapshot = useCallback(() => ({
    nodes: nodesRef.current.map(fromRfNode), edges: edgesRef.current.map(fromRfEdge), meta: metaRef.current,
  }), []);

  const markChanged = useCallback(() => {
    tickRef.current += 1;
    setChangeTick(tickRef.current);
    setSave({ status: 'dirty' });
  }, []);

  const commit = useCallback((key = null) => {
    histRef.current = record(histRef.current, snapshot(), key);
    setHistTick((x) => x + 1);
    markChanged();
  }, [snapshot, markChanged]);

  const pendingCommit = useRef(null);
  const commitSoon = useCallback(() => {
    if (pendingCommit.current) return;
    pendingCommit.current = setTimeout(() => {
      pendingCommit.current = null;
      commit();
    }, 0);
  }, [commit]);

  const setName = useCallback((v) => {
    metaRef.current = { ...metaRef.current, name: v };
    setNameState(v);
    commit('name');
  }, [commit]);

  const restore = useCallback((snap) => {
    // Reuse unchanged node/edge objects so undo re-renders only what it changes and keeps the selection.
    const curNodes = new Map(nodesRef.current.map((n) => [n.id, n]));
    setNodes(snap.nodes.map((d) => {
      const cur = curNodes.get(d.id);
      if (cur && cur.type === d.type && cur.data === d.data && Math.round(cur.position.x) === d.position.x
        && Math.round(cur.position.y) === d.position.y) return cur;
      const n = toRfNode(d);
      return cur ? { ...n, selected: cur.selected, measured: cur.measured } : n;
    }));
    const curEdges = new Map(edgesRef.current.map((e) => [e.id, e]));
    setEdges(snap.edges.map((d) => {
      const cur = curEdges.get(d.id);
      return cur && cur.source === d.source && cur.target === d.target && (cur.sourceHandle ?? null) === d.sourceHandle
        ? cur : toRfEdge(d);
    }));
    metaRef.current = snap.meta;
    setNameState(snap.meta.name || '');
    setHistTick((x) => x + 1);
    markChanged();
  }, [setNodes, setEdges, markChanged]);

  const undo = useCallback(() => {
    if (!canUndo(histRef.current)) return;
    histRef.current = hUndo(histRef.current);
    restore(histRef.current.present);
  }, [restore]);
  const redo = useCallback(() => {
    if (!canRedo(histRef.current)) return;
    histRef.current = hRedo(histRef.current);
    restore(histRef.current.present);
  }, [restore]);

  /** Replace the canvas with a document (load, import, rollback). */
  const loadDocument = useCallback((doc, { resetHistory = false, layoutIfNeeded = true } = {}) => {
    const { nodes: ns, edges: es, meta } = documentToFlow(doc);
    let rfNodes = ns;
    if (layoutIfNeeded && needsLayout(doc?.nodes)) rfNodes = autoLayout(ns, es, { portsOf: nodePorts });
    metaRef.current = meta;
    setNameState(meta.name || '');
    setNodes(rfNodes);
    setEdges(es);
    if (resetHistory) {
      histRef.current = createHistory(snapshot());
      setHistTick((x) => x + 1);
    }
    setTimeout(() => rf.fitView(fitOptions(rfNodes, true, canvasSize(wrapperRef.current))), 30);
    return rfNodes.length;
  }, [nodePorts, setNodes, setEdges, snapshot, rf]);

  // ---- initial load -------------------------------------------------------------------------------
  useEffect(() => {
    let cancelled = false;
    (async () => {
      try {
        const [types, flow] = await (preload || Promise.all([api.nodeTypes(), api.getFlow()]));
        if (cancelled) return;
        const list = types.node_types || [];
        setNodeTypeList(list);
        const byName = Object.fromEntries(list.map((nt) => [nt.type, nt]));
        const doc = flow.draft || { schema_version: 1, name: flow.name || '', nodes: [], edges: [] };
        if (!doc.name && flow.name) doc.name = flow.name;
        const { nodes: ns, edges: es, meta } = documentToFlow(doc);
        const laid = needsLayout(doc.nodes)
          ? autoLayout(ns, es, { portsOf: (n) => portsOf(n, byName[n.type]) }) : ns;
        metaRef.current = meta;
        setNameState(meta.name || '');
        setNodes(laid);
        setEdges(es);
        histRef.current = createHistory(snapshot());
        setProblems(flow.problems || []);
        setReady(true);
        if (!Array.isArray(flow.problems)) {
          api.validate(doc).then((r) => { if (!cancelled && !tickRef.current) setProblems(r.problems || []); }).catch(() => {});
        }
      } catch (e) {
        if (!cancelled) setLoadError(e.message);
      }
    })();
    return () => { cancelled = true; };
  }, [api, preload, setNodes, setEdges, snapshot]);

  // ---- validation (debounced) and autosave ------------------------------------------------------
  const saveNow = useDraftSync({ api, currentDocument, tickRef, changeTick, setProblems, save, setSave });

  // ---- problems -> node badges ---------------------------------------------------------------------
  useEffect(() => { decorations.setProblems(problemsByNode(problems).byNode); }, [problems, decorations]);
  const counts = useMemo(() => countBySeverity(problems), [problems]);
  const blocked = hasErrors(problems);

  // ---- canvas events -----------------------------------------------------------------------------
  const onNodesChange = useCallback((changes) => {
    setNodes((ns) => applyNodeChanges(changes, ns));
    if (changes.some((c) => c.type === 'remove')) commitSoon();
  }, [setNodes, commitSoon]);
  const onEdgesChange = useCallback((changes) => {
    setEdges((es) => applyEdgeChanges(changes, es));
    if (changes.some((c) => c.type === 'remove')) commitSoon();
  }, [setEdges, commitSoon]);
  const onDragStop = useCallback(() => commitSoon(), [commitSoon]);

  const onConnect = useCallback((c) => {
    if (!c.source || !c.target) return;
    setEdges((es) => {
      const kept = es.filter((e) => !(e.source === c.source && (e.sourceHandle ?? null) === (c.sourceHandle ?? null)));
      const id = edgeId(new Set(es.map((e) => e.id)));
      return [...kept, { id, source: c.source, sourceHandle: c.sourceHandle ?? null, target: c.target }];
    });
    commit();
  }, [setEdges, commit]);

  // Dragging an edge end off a handle disconnects it; onto another handle reconnects it.
  const reconnectOk = useRef(true);
  const onReconnectStart = useCallback(() => { reconnectOk.current = false; }, []);
  const onReconnect = useCallback((oldEdge, c) => {
    reconnectOk.current = true;
    setEdges((es) => es.map((e) => (e.id === oldEdge.id
      ? { id: e.id, source: c.source, sourceHandle: c.sourceHandle ?? null, target: c.target } : e)));
    commit();
  }, [setEdges, commit]);
  const onReconnectEnd = useCallback((_, edge) => {
    if (!reconnectOk.current) {
      setEdges((es) => es.filter((e) => e.id !== edge.id));
      commit();
    }
    reconnectOk.current = true;
  }, [setEdges, commit]);

  const addNode = useCallback((type, position) => {
    const meta = typesByName[type];
    const ns = nodesRef.current;
    let pos = position;
    if (!pos) {
      const rect = wrapperRef.current?.getBoundingClientRect();
      const c = rect ? rf.screenToFlowPosition({ x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 }) : { x: 0, y: 0 };
      pos = freeSpot({ x: c.x - 120, y: c.y - 50 }, ns);
    }
    const id = uniqueId(type, new Set(ns.map((n) => n.id)));
    setNodes([...ns.map((n) => (n.selected ? { ...n, selected: false } : n)),
      { id, type, position: pos, data: defaultData(meta), selected: true }]);
    commit();
    setTab('inspector');
    setCollapsed(false);
  }, [typesByName, rf, setNodes, commit]);

  const onDragOver = useCallback((e) => { e.preventDefault(); e.dataTransfer.dropEffect = 'move'; }, []);
  const onDrop = useCallback((e) => {
    const type = e.dataTransfer.getData(DND_MIME);
    if (!type) return;
    e.preventDefault();
    const p = rf.screenToFlowPosition({ x: e.clientX, y: e.clientY });
    addNode(type, { x: Math.round(p.x - 120), y: Math.round(p.y - 30) });
  }, [rf, addNode]);

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
  const deleteSelected = useCallback(() => {
    const ids = new Set(nodesRef.current.filter((n) => n.selected).map((n) => n.id));
    if (!ids.size) return;
    rf.deleteElements({ nodes: [...ids].map((id) => ({ id })) });
  }, [rf]);

  const onNodeClick = useCallback(() => { setTab((cur) => (cur === 'test' || cur === 'comment' ? cur : 'inspector')); }, []);
  const onNodeDoubleClick = useCallback(() => { setTab('inspector'); setCollapsed(false); }, []);

  const focusNode = useCallback((id) => {
    const n = nodesRef.current.find((x) => x.id === id);
    if (!n) return;
    setNodes((ns) => ns.map((x) => (x.id === id ? (x.selected ? x : { ...x, selected: true }) : (x.selected ? { ...x, selected: false } : x))));
    const w = n.measured?.width || 240;
    const h = n.measured?.height || 80;
    rf.setCenter(n.position.x + w / 2, n.position.y + h / 2, { zoom: Math.max(rf.getZoom(), 1), duration: 300 });
    setTab('inspector');
    setCollapsed(false);
  }, [rf, setNodes]);

  // ---- copy / paste / layout ---------------------------------------------------------------------
  const copy = useCallback(() => {
    const clip = copySelection(nodesRef.current, edgesRef.current);
    if (!clip.nodes.length) return false;
    clipboardRef.current = clip;
    try { window.localStorage?.setItem('temoweb-flow-clipboard', JSON.stringify(clip)); } catch (e) { /* private mode */ }
    return clip;
  }, []);
  const paste = useCallback((clip) => {
    let c = clip || clipboardRef.current;
    if (!c) {
      try { c = JSON.parse(window.localStorage?.getItem('temoweb-flow-clipboard') || 'null'); } catch (e) { c = null; }
    }
    if (!c?.nodes?.length) return;
    const out = pasteClipboard(c, nodesRef.current, edgesRef.current);
    setNodes([...nodesRef.current.map((n) => (n.selected ? { ...n, selected: false } : n)), ...out.nodes]);
    setEdges([...edgesRef.current, ...out.edges]);
    commit();
    // The next paste of the same clipboard lands further along instead of on top.
    if (!clip) clipboardRef.current = { ...c, nodes: c.nodes.map((n) => ({ ...n, position: { x: (n.position?.x || 0) + 40, y: (n.position?.y || 0) + 40 } })) };
  }, [setNodes, setEdges, commit]);
  const duplicate = useCallback(() => {
    const clip = copySelection(nodesRef.current, edgesRef.current);
    if (clip.nodes.length) paste(clip);
  }, [paste]);

  const layout = useCallback(() => {
    setNodes(autoLayout(nodesRef.current, edgesRef.current, { portsOf: nodePorts }));
    commit();
    setTimeout(() => rf.fitView(fitOptions(nodesRef.current, true, canvasSize(wrapperRef.current))), 30);
  }, [setNodes, nodePorts, commit, rf]);

  // ---- publish, import, export, rollback -----------------------------------------------------------
  const publish = useCallback(async () => {
    if (hasErrors(problems)) { notify(t('publish_blocked'), 'error'); return; }
    setPublishing(true);
    try {
      if (tickRef.current && save.status !== 'saved') {
        const ok = await saveNow();
        if (!ok) return;
      }
      const res = await api.publish();
      notify(t('published', { n: res.version }), 'success');
    } catch (e) {
      if (Array.isArray(e.body?.problems)) setProblems(e.body.problems);
      notify(t('publish_failed', { error: e.message }), 'error');
    } finally {
      setPublishing(false);
    }
  }, [problems, save.status, saveNow, api, notify, t]);

  const onImportFile = useCallback(async (e) => {
    const file = e.target.files?.[0];
    e.target.value = '';
    if (!file) return;
    try {
      const doc = extractDocument(JSON.parse(await file.text()));
      if (!doc) throw new Error('not a flow document (no "nodes" list)');
      if (!doc.name) doc.name = metaRef.current.name;
      const n = loadDocument(doc);
      commit();
      notify(t('imported', { n }), 'success');
    } catch (err) {
      notify(t('import_failed', { error: err.message }), 'error');
    }
  }, [loadDocument, commit, notify, t]);

  const exportJson = useCallback(() => {
    const doc = currentDocument();
    const blob = new Blob([`${JSON.stringify(doc, null, 2)}\n`], { type: 'application/json' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${(doc.name || 'flow').replace(/[^\p{L}\p{N}_-]+/gu, '-').replace(/^-|-$/g, '') || 'flow'}.json`;
    document.body.appendChild(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 0);
  }, [currentDocument]);

  const onRolledBack = useCallback(async () => {
    const flow = await api.getFlow();
    loadDocument(flow.draft || {});
    commit();
    if (Array.isArray(flow.problems)) setProblems(flow.problems);
  }, [api, loadDocument, commit]);

  const onDiff = useCallback((res) => {
    if (!res) { decorations.setDiff({}); return; }
    const map = {};
    for (const id of res.added || []) map[id] = 'added';
    for (const c of res.changed || []) map[c.id ?? c] = 'changed';
    decorations.setDiff(map);
  }, [decorations]);

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

  // ---- keyboard ----------------------------------------------------------------------------------
  useShortcuts(wrapperRef, { undo, redo, copy, paste, duplicate, layout, saveNow, setNodes, toggleHelp: setHelpOpen });

  // ---- render ------------------------------------------------------------------------------------
  const typeNames = useMemo(() => {
    const s = new Set(nodeTypeList.map((n) => n.type));
    for (const n of nodes) s.add(n.type);
    return [...s].sort().join('|');
  }, [nodeTypeList, nodes]);
  const rfNodeTypes = useMemo(
    () => Object.fromEntries(typeNames.split('|').filter(Boolean).map((k) => [k, FlowNode])), [typeNames],
  );
  const ctx = useMemo(() => ({ typesByName, t, decorations }), [typesByName, t, decorations]);
  // Computed once per load: big flows open zoomed on their start, small ones fit entirely.
  const initialFit = useMemo(() => fitOptions(nodesRef.current, false, canvasSize(wrapperRef.current)), [ready]); // eslint-disable-line react-hooks/exhaustive-deps

  const nodeProblems = useMemo(
    () => (singleId ? problems.filter((p) => p.node_id === singleId) : []), [problems, singleId],
  );
  const inspector = (
    <Inspector node={single} selectedCount={selected.length} meta={single ? typesByName[single.type] : null}
      problems={nodeProblems} onChange={onFieldChange} onReplaceData={onReplaceData} onDelete={deleteSelected} t={t} />
  );

  if (loadError) return <div className="fe-root fe-center"><div className="fe-error-box" data-testid="load-error">{t('load_failed', { error: loadError })}</div></div>;

  const h = histRef.current;
  const saveLabel = { saved: t('saved'), saving: t('saving'), dirty: t('unsaved'), error: t('save_failed', { error: save.error }) }[save.status];

  return (
    <EditorContext.Provider value={ctx}>
      <div className="fe-root" data-ready={ready ? 'true' : 'false'} data-testid="flow-editor-root">
        <header className="fe-toolbar">
          <div className="fe-brand"><span className="fe-logo">◆</span></div>
          <input className="fe-name" value={name} onChange={(e) => setName(e.target.value)} aria-label={t('flow_name')}
            data-testid="flow-name" />
          <span className={`fe-save-state is-${save.status}`} data-testid="save-state" data-state={save.status} title={saveLabel}>
            <span className="fe-save-dot" />{saveLabel}
          </span>
          <div className="fe-spacer" />
          <div className="fe-group">
            <button type="button" className="fe-btn fe-btn-ghost" onClick={undo} disabled={!canUndo(h)} data-testid="btn-undo" title={`${t('undo')} (Ctrl+Z)`}><span className="fe-ico">↶</span><span className="fe-btn-text fe-btn-text-opt">{t('undo')}</span></button>
            <button type="button" className="fe-btn fe-btn-ghost" onClick={redo} disabled={!canRedo(h)} data-testid="btn-redo" title={`${t('redo')} (Ctrl+Shift+Z)`}><span className="fe-ico">↷</span><span className="fe-btn-text fe-btn-text-opt">{t('redo')}</span></button>
          </div>
          <div className="fe-group">
            <button type="button" className="fe-btn fe-btn-ghost" onClick={layout} data-testid="btn-layout" title={`${t('layout')} (Shift+L)`}><span className="fe-ico">⊞</span><span className="fe-btn-text">{t('layout')}</span></button>
            <button type="button" className="fe-btn fe-btn-ghost" onClick={() => rf.fitView({ padding: 0.12, duration: 200 })} data-testid="btn-fit" title={t('fit')}><span className="fe-ico">⤢</span><span className="fe-btn-text fe-btn-text-opt">{t('fit')}</span></button>
          </div>
          <div className="fe-group">
            <button type="button" className="fe-btn fe-btn-ghost" onClick={() => fileRef.current?.click()} data-testid="btn-import" title={t('import')}><span className="fe-ico">⤒</span><span className="fe-btn-text">{t('import')}</span></button>
            <input ref={fileRef} type="file" accept="application/json,.json" hidden onChange={onImportFile} data-testid="import-file" />
            <button type="button" className="fe-btn fe-btn-ghost" onClick={exportJson} data-testid="btn-export" title={t('export')}><span className="fe-ico">⤓</span><span className="fe-btn-text">{t('export')}</span></button>
          </div>
          <div className="fe-group fe-help-wrap">
            <button type="button" className="fe-btn fe-btn-ghost fe-btn-round" onClick={() => setHelpOpen((o) => !o)} data-testid="btn-help" title={t('help')}>?</button>
            {helpOpen && <HelpPopover t={t} onClose={() => setHelpOpen(false)} />}
          </div>
          <button type="button" className="fe-btn" onClick={saveNow} disabled={save.status === 'saving'} data-testid="btn-save">{t('save')}</button>
          <button type="button" className="fe-btn fe-btn-primary" onClick={publish} disabled={blocked || publishing || !ready}
            data-testid="btn-publish" title={blocked ? t('publish_blocked') : ''}>{t('publish')}</button>
        </header>
        <div className="fe-body">
          <Palette nodeTypes={nodeTypeList} onAdd={addNode} t={t} />
          <main className="fe-canvas" ref={wrapperRef} onDragOver={onDragOver} onDrop={onDrop}>
            {!ready && <div className="fe-loading">{t('loading')}</div>}
            {ready && nodes.length === 0 && <div className="fe-empty-canvas" data-testid="empty-canvas">{t('empty_canvas')}</div>}
            {ready && <ReactFlow
              nodes={nodes}
              edges={displayEdges}
              nodeTypes={rfNodeTypes}
              onNodesChange={onNodesChange}
              onEdgesChange={onEdgesChange}
              onConnect={onConnect}
              onReconnect={onReconnect}
              onReconnectStart={onReconnectStart}
              onReconnectEnd={onReconnectEnd}
              onNodeDragStop={onDragStop}
              onSelectionDragStop={onDragStop}
              onNodeClick={onNodeClick}
              onNodeDoubleClick={onNodeDoubleClick}
              defaultEdgeOptions={DEFAULT_EDGE}
              deleteKeyCode={['Delete', 'Backspace']}
              multiSelectionKeyCode={['Meta', 'Control', 'Shift']}
              selectionKeyCode="Shift"
              minZoom={0.1}
              maxZoom={2}
              fitView
              fitViewOptions={initialFit}
              proOptions={{ hideAttribution: true }}
            >
              <Background gap={20} size={1.2} color="#d5dae3" />
              <MiniMap pannable zoomable nodeColor={(n) => colorFor(typesByName[n.type]?.category || n.type)} nodeStrokeWidth={0} maskColor="rgba(240,243,248,0.7)" />
              <Controls showInteractive={false} />
            </ReactFlow>}
            <ProblemsList problems={problems} onFocus={focusNode} t={t} counts={counts} />
            {toast && <div className={`fe-toast is-${toast.kind}`} data-testid="toast" role="status">{toast.text}</div>}
          </main>
          <SidePanel tab={tab} setTab={setTab} inspector={inspector} api={api} t={t} onTrace={onTrace} onDiff={onDiff}
            onRolledBack={onRolledBack} notify={notify} onFocusNode={focusNode} collapsed={collapsed} setCollapsed={setCollapsed} />
        </div>
      </div>
    </EditorContext.Provider>
  );
}
