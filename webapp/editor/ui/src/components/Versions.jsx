import { memo, useEffect, useState, useCallback } from 'react';

/** Versions list, diff between two versions (or the draft) shown on the canvas, rollback. */
export const Versions = memo(function Versions({ api, t, active, onDiff, onRolledBack, notify, onFocusNode }) {
  const [versions, setVersions] = useState(null);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('draft');
  const [diff, setDiff] = useState(null);
  const [error, setError] = useState('');

  const load = useCallback(async () => {
    try {
      const res = await api.versions();
      const list = res.versions || [];
      setVersions(list);
      if (list.length) setFrom((f) => f || String(list[0].number));
    } catch (e) {
      setError(e.message);
    }
  }, [api]);

  useEffect(() => { if (active) load(); }, [active, load]);

  async function compare(a = from, b = to) {
    if (!a || !b) return;
    setError('');
    try {
      const res = await api.diff(a, b);
      setDiff({ ...res, from: a, to: b });
      onDiff(res);
    } catch (e) {
      setError(e.message);
    }
  }
  function clear() {
    setDiff(null);
    onDiff(null);
  }
  async function rollback(n) {
    if (!window.confirm(t('rollback_confirm', { n }))) return;
    try {
      await api.rollback(Number(n));
      clear();
      await onRolledBack(n);
      notify(t('rolled_back', { n }));
    } catch (e) {
      setError(e.message);
    }
  }
  const opts = [<option key="draft" value="draft">{t('draft')}</option>,
    ...(versions || []).map((v) => <option key={v.number} value={String(v.number)}>v{v.number}</option>)];
  return (
    <div className="fe-form" data-testid="versions-panel">
      <div className="fe-row">
        <strong>{t('versions')}</strong>
        <button type="button" className="fe-btn fe-btn-small" onClick={load}>{t('refresh')}</button>
      </div>
      {error && <div className="fe-error-box">{error}</div>}
      {versions && !versions.length && <p className="fe-muted">{t('no_versions')}</p>}
      <ul className="fe-versions">
        {(versions || []).map((v) => (
          <li key={v.number} data-testid={`version-${v.number}`}>
            <div>
              <strong>v{v.number}</strong> {v.is_current && <span className="fe-pill fe-pill-green">{t('current')}</span>}
              <div className="fe-muted fe-small">{v.created_at ? new Date(v.created_at).toLocaleString() : ''} {v.author || ''}</div>
            </div>
            <div className="fe-row-actions">
              <button type="button" className="fe-btn fe-btn-small" onClick={() => { setFrom(String(v.number)); setTo('draft'); compare(String(v.number), 'draft'); }}
                data-testid={`version-diff-${v.number}`}>{t('diff_vs_draft')}</button>
              <button type="button" className="fe-btn fe-btn-small" onClick={() => rollback(v.number)}
                data-testid={`version-rollback-${v.number}`}>{t('rollback')}</button>
            </div>
          </li>
        ))}
      </ul>
      {versions?.length > 0 && (
        <div className="fe-compare">
          <label className="fe-label">{t('from')}</label>
          <select className="fe-input" value={from} onChange={(e) => setFrom(e.target.value)} data-testid="diff-from">{opts}</select>
          <label className="fe-label">{t('to')}</label>
          <select className="fe-input" value={to} onChange={(e) => setTo(e.target.value)} data-testid="diff-to">{opts}</select>
          <button type="button" className="fe-btn fe-btn-primary fe-btn-small" onClick={() => compare()} data-testid="diff-run">{t('compare')}</button>
          {diff && <button type="button" className="fe-btn fe-btn-small" onClick={clear} data-testid="diff-clear">{t('clear_diff')}</button>}
        </div>
      )}
      {diff && (
        <div className="fe-diff" data-testid="diff-result">
          <div className="fe-muted fe-small">{diff.from} → {diff.to}</div>
          {!diff.added?.length && !diff.removed?.length && !diff.changed?.length && <p>{t('no_diff')}</p>}
          {diff.added?.length > 0 && <DiffList cls="added" title={t('added')} items={diff.added.map((id) => ({ id }))} onFocusNode={onFocusNode} />}
          {diff.removed?.length > 0 && <DiffList cls="removed" title={t('removed')} items={diff.removed.map((id) => ({ id }))} />}
          {diff.changed?.length > 0 && <DiffList cls="changed" title={t('changed_nodes')} items={diff.changed} onFocusNode={onFocusNode} />}
        </div>
      )}
    </div>
  );
});

function DiffList({ cls, title, items, onFocusNode }) {
  return (
    <div className={`fe-diff-group diff-${cls}`}>
      <div className="fe-diff-title">{title} ({items.length})</div>
      {items.map((it) => (
        <button type="button" key={it.id} className="fe-diff-item" onClick={() => onFocusNode?.(it.id)} disabled={!onFocusNode}>
          <code>{it.id}</code>
          {it.fields?.length > 0 && <span className="fe-muted"> {it.fields.join(', ')}</span>}
        </button>
      ))}
    </div>
  );
}
