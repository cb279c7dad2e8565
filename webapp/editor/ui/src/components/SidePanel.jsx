import { memo } from 'react';
import { TestChat, CommentSim, CheckReplies } from './TestPanels.jsx';
import { Versions } from './Versions.jsx';

const TABS = ['inspector', 'test', 'comment', 'check', 'versions'];

/** Right panel: inspector and the test tools as tabs; every tab stays mounted (keeps its state). */
const SidePanel = memo(function SidePanel({ tab, setTab, inspector, api, t, onTrace, onDiff, onRolledBack, notify, onFocusNode, collapsed, setCollapsed }) {
  return (
    <aside className={`fe-side ${collapsed ? 'is-collapsed' : ''}`} data-testid="side-panel">
      <div className="fe-tabs" role="tablist">
        {TABS.map((k) => (
          <button type="button" key={k} role="tab" aria-selected={tab === k} className={`fe-tab ${tab === k ? 'is-active' : ''}`}
            data-testid={`tab-${k}`} onClick={() => { setTab(k); setCollapsed(false); }}>{t(`tab_${k}`)}</button>
        ))}
        <button type="button" className="fe-icon-btn fe-collapse" title="Collapse" data-testid="side-collapse"
          onClick={() => setCollapsed(!collapsed)}>{collapsed ? '«' : '»'}</button>
      </div>
      <div className="fe-side-body">
        <div hidden={tab !== 'inspector'}>{inspector}</div>
        <div hidden={tab !== 'test'} className="fe-side-fill"><TestChat api={api} t={t} onTrace={onTrace} onFocusNode={onFocusNode} notify={notify} /></div>
        <div hidden={tab !== 'comment'}><CommentSim api={api} t={t} onTrace={onTrace} /></div>
        <div hidden={tab !== 'check'}><CheckReplies api={api} t={t} active={tab === 'check'} /></div>
        <div hidden={tab !== 'versions'}>
          <Versions api={api} t={t} active={tab === 'versions'} onDiff={onDiff} onRolledBack={onRolledBack} notify={notify} onFocusNode={onFocusNode} />
        </div>
      </div>
    </aside>
  );
});

export default SidePanel;
