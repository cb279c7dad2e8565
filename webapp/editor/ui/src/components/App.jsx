import { useCallback, useMemo, useRef } from 'react';
import { useReactFlow } from '@xyflow/react';
import Palette from './Palette.jsx';
import Inspector from './Inspector.jsx';
import { ProblemsList } from './Extras.jsx';
import SidePanel from './SidePanel.jsx';
import Toolbar from './Toolbar.jsx';
import Canvas from './Canvas.jsx';
import { EditorContext } from '../context.js';
import { useFlowDocument } from '../hooks/useFlowDocument.js';
import { useFlowLoader } from '../hooks/useFlowLoader.js';
import { useDraftSync } from '../hooks/useDraftSync.js';
import { useDecorations } from '../hooks/useDecorations.js';
import { usePanels } from '../hooks/usePanels.js';
import { useSelection } from '../hooks/useSelection.js';
import { useCanvasEditing } from '../hooks/useCanvasEditing.js';
import { useClipboard } from '../hooks/useClipboard.js';
import { useLayout } from '../hooks/useLayout.js';
import { useFlowActions } from '../hooks/useFlowActions.js';
import { useShortcuts } from '../hooks/useShortcuts.js';
import { useToast } from '../hooks/useToast.js';
import { hasErrors, countBySeverity } from '../lib/problems.js';
import { portsOf } from '../lib/ports.js';

/** The editor: wires the hooks (one concern each) to the toolbar, palette, canvas and side panel. */
export default function App({ api, t, preload }) {
  const rf = useReactFlow();
  const wrapperRef = useRef(null);

  const flow = useFlowDocument();
  const loader = useFlowLoader({ api, preload, flow, wrapperRef });
  const ready = loader.status === 'ready';
  const typesByName = useMemo(() => Object.fromEntries(loader.nodeTypes.map((nt) => [nt.type, nt])), [loader.nodeTypes]);
  const nodePorts = useCallback((n) => portsOf(n, typesByName[n.type]), [typesByName]);

  const [toast, notify] = useToast();
  const panels = usePanels();
  const saveNow = useDraftSync({ api, flow });
  const { decorations, onTrace, onDiff, displayEdges } = useDecorations({ problems: flow.problems, edges: flow.edges });
  const selection = useSelection({ flow, rf, openInspector: panels.openInspector });
  const canvas = useCanvasEditing({ flow, rf, wrapperRef, typesByName, openInspector: panels.openInspector });
  const clipboard = useClipboard({ flow });
  const { layout, replaceDocument, fitAll } = useLayout({ flow, rf, wrapperRef, nodePorts });
  const actions = useFlowActions({ api, t, flow, saveNow, replaceDocument, notify });
  useShortcuts(wrapperRef, {
    undo: flow.undo, redo: flow.redo, ...clipboard, layout, saveNow, setNodes: flow.setNodes, toggleHelp: panels.setHelpOpen,
  });

  const counts = useMemo(() => countBySeverity(flow.problems), [flow.problems]);
  const blocked = hasErrors(flow.problems);
  const ctx = useMemo(() => ({ typesByName, t, decorations }), [typesByName, t, decorations]);
  const { single, selected } = selection;
  const singleId = single?.id;
  const nodeProblems = useMemo(
    () => (singleId ? flow.problems.filter((p) => p.node_id === singleId) : []), [flow.problems, singleId],
  );

  if (loader.status === 'error') {
    return <div className="fe-root fe-center"><div className="fe-error-box" data-testid="load-error">{t('load_failed', { error: loader.error })}</div></div>;
  }

  const inspector = (
    <Inspector node={single} selectedCount={selected.length} meta={single ? typesByName[single.type] : null}
      problems={nodeProblems} onChange={selection.onFieldChange} onReplaceData={selection.onReplaceData}
      onDelete={selection.deleteSelected} flowMeta={flow.meta} onMetaChange={flow.setMeta} t={t} />
  );

  return (
    <EditorContext.Provider value={ctx}>
      <div className="fe-root" data-ready={ready ? 'true' : 'false'} data-testid="flow-editor-root">
        <Toolbar t={t} name={flow.name} onRename={flow.rename} save={flow.save}
          canUndo={flow.canUndo} canRedo={flow.canRedo} onUndo={flow.undo} onRedo={flow.redo}
          onLayout={layout} onFit={fitAll} onImport={actions.importFile} onExport={actions.exportJson}
          helpOpen={panels.helpOpen} setHelpOpen={panels.setHelpOpen} onSave={saveNow} onPublish={actions.publish}
          publishDisabled={blocked || actions.publishing || !ready} blocked={blocked} />
        <div className="fe-body">
          <Palette nodeTypes={loader.nodeTypes} onAdd={canvas.addNode} t={t} />
          <main className="fe-canvas" ref={wrapperRef} onDragOver={canvas.onDragOver} onDrop={canvas.onDrop}>
            {!ready && <div className="fe-loading">{t('loading')}</div>}
            {ready && flow.nodes.length === 0 && <div className="fe-empty-canvas" data-testid="empty-canvas">{t('empty_canvas')}</div>}
            {ready && <Canvas nodes={flow.nodes} edges={displayEdges} nodeTypeList={loader.nodeTypes}
              typesByName={typesByName} fit={loader.fit}
              handlers={{ ...canvas, onNodeClick: panels.onNodeClick, onNodeDoubleClick: panels.onNodeDoubleClick }} />}
            <ProblemsList problems={flow.problems} onFocus={selection.focusNode} t={t} counts={counts} />
            {toast && <div className={`fe-toast is-${toast.kind}`} data-testid="toast" role="status">{toast.text}</div>}
          </main>
          <SidePanel tab={panels.tab} setTab={panels.setTab} inspector={inspector} api={api} t={t} onTrace={onTrace}
            onDiff={onDiff} onRolledBack={actions.onRolledBack} notify={notify} onFocusNode={selection.focusNode}
            collapsed={panels.collapsed} setCollapsed={panels.setCollapsed} />
        </div>
      </div>
    </EditorContext.Provider>
  );
}
