import { memo, useState } from 'react';
import { sortProblems } from '../lib/problems.js';

export const ProblemsList = memo(function ProblemsList({ problems, onFocus, t, counts }) {
  const [open, setOpen] = useState(true);
  const list = sortProblems(problems);
  return (
    <div className={`fe-problems ${open ? 'is-open' : ''}`} data-testid="problems-list">
      <button type="button" className="fe-problems-head" onClick={() => setOpen(!open)} data-testid="problems-toggle">
        <span>{t('problems')}</span>
        {counts.errors > 0 && <span className="fe-badge fe-badge-error">{counts.errors}</span>}
        {counts.warnings > 0 && <span className="fe-badge fe-badge-warning">{counts.warnings}</span>}
        {!list.length && <span className="fe-ok">✓ {t('no_problems')}</span>}
        <span className="fe-chevron">{open ? '▾' : '▴'}</span>
      </button>
      {open && list.length > 0 && (
        <ul>
          {list.map((p, i) => (
            <li key={i} className={`sev-${p.severity}`} data-testid="problem-item" data-node-id={p.node_id || ''}>
              <button type="button" onClick={() => p.node_id && onFocus(p.node_id)} disabled={!p.node_id}>
                <span className={`fe-sev fe-sev-${p.severity}`}>{p.severity === 'error' ? '●' : '▲'}</span>
                <code>{p.node_id || t('flow_level')}</code>
                <span>{p.message}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
});

const mod = typeof navigator !== 'undefined' && /Mac/.test(navigator.platform) ? '⌘' : 'Ctrl';

export const SHORTCUTS = [
  [`${mod}+C`, 'sc_copy'], [`${mod}+V`, 'sc_paste'], [`${mod}+D`, 'sc_dup'], ['Delete / Backspace', 'sc_delete'],
  [`${mod}+Z`, 'sc_undo'], [`${mod}+Shift+Z / ${mod}+Y`, 'sc_redo'], [`${mod}+A`, 'sc_all'], [`${mod}+S`, 'sc_save'],
  ['Shift+L', 'sc_layout'], ['Shift / Ctrl + click', 'sc_multi'], ['Shift + drag', 'sc_box'],
  ['drag', 'sc_pan'], ['wheel', 'sc_zoom'], ['?', 'sc_help'],
];

export function HelpPopover({ t, onClose }) {
  return (
    <div className="fe-popover" data-testid="help-popover" role="dialog">
      <div className="fe-row">
        <strong>{t('shortcuts')}</strong>
        <button type="button" className="fe-icon-btn" onClick={onClose} title={t('close')}>×</button>
      </div>
      <table className="fe-shortcuts">
        <tbody>
          {SHORTCUTS.map(([k, label]) => (
            <tr key={k}><td><kbd>{k === 'drag' ? t('drag_or_scroll') : k === 'wheel' ? t('scroll') : k}</kbd></td><td>{t(label)}</td></tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
