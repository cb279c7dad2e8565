import { memo, useEffect, useState } from 'react';
import { buildForm, toFormValue, fromFormValue, newItem } from '../lib/fields.js';

/** Text-ish control that keeps what the user typed even while it does not parse (json, number). */
function DraftText({ kind, value, onCommit, testId, multiline, inputType, t }) {
  const [raw, setRaw] = useState(() => toFormValue(kind, value));
  const [error, setError] = useState('');
  useEffect(() => {
    // Follow external changes (undo, another node) unless they are what we just produced.
    const parsed = fromFormValue(kind, raw);
    if (parsed.error || JSON.stringify(parsed.value) !== JSON.stringify(value ?? null)) {
      setRaw(toFormValue(kind, value));
      setError('');
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value, kind]);
  const change = (text) => {
    setRaw(text);
    const parsed = fromFormValue(kind, text);
    if (parsed.error) setError(t(kind === 'json' ? 'invalid_json' : 'not_a_number'));
    else {
      setError('');
      onCommit(parsed.value);
    }
  };
  return (
    <>
      {multiline ? (
        <textarea className={`fe-input fe-textarea ${kind === 'json' ? 'fe-code' : ''}`} rows={kind === 'json' ? 6 : 4}
          value={raw} onChange={(e) => change(e.target.value)} data-testid={testId} spellCheck={false} />
      ) : (
        <input className="fe-input" type={inputType || 'text'} value={raw} onChange={(e) => change(e.target.value)}
          data-testid={testId} />
      )}
      {error && <div className="fe-field-error">{error}</div>}
    </>
  );
}

function Pairs({ value, onCommit, testId, t }) {
  const [rows, setRows] = useState(() => toFormValue('keyvalue', value));
  useEffect(() => {
    const cur = fromFormValue('keyvalue', rows).value;
    if (JSON.stringify(cur) !== JSON.stringify(value || {})) setRows(toFormValue('keyvalue', value));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);
  const update = (next) => {
    setRows(next);
    onCommit(fromFormValue('keyvalue', next).value);
  };
  return (
    <div className="fe-pairs" data-testid={testId}>
      {rows.map(([k, v], i) => (
        <div className="fe-pair" key={i}>
          <input className="fe-input" placeholder={t('key')} value={k} data-testid={`${testId}-key-${i}`}
            onChange={(e) => update(rows.map((r, j) => (j === i ? [e.target.value, r[1]] : r)))} />
          <input className="fe-input" placeholder={t('value')} value={v} data-testid={`${testId}-value-${i}`}
            onChange={(e) => update(rows.map((r, j) => (j === i ? [r[0], e.target.value] : r)))} />
          <button type="button" className="fe-icon-btn" title={t('remove')}
            onClick={() => update(rows.filter((_, j) => j !== i))}>×</button>
        </div>
      ))}
      <button type="button" className="fe-btn fe-btn-small" data-testid={`${testId}-add`}
        onClick={() => setRows([...rows, ['', '']])}>+ {t('add_row')}</button>
    </div>
  );
}

function Field({ spec, value, onChange, t }) {
  const commit = (v) => onChange(spec.name, v);
  let control;
  switch (spec.control) {
    case 'input':
      control = spec.inputType === 'number'
        ? <DraftText kind="number" inputType="number" value={value} onCommit={commit} testId={spec.testId} t={t} />
        : <input className="fe-input" value={toFormValue('text', value)} data-testid={spec.testId}
            onChange={(e) => commit(e.target.value)} />;
      break;
    case 'textarea':
      control = <textarea className="fe-input fe-textarea" rows={4} value={toFormValue('textarea', value)}
        data-testid={spec.testId} onChange={(e) => commit(e.target.value)} />;
      break;
    case 'select': {
      const known = spec.choices.some((c) => c.value === String(value ?? ''));
      control = (
        <select className="fe-input" value={value == null ? '' : String(value)} data-testid={spec.testId}
          onChange={(e) => commit(e.target.value)}>
          {(!spec.required || !known) && <option value="">—</option>}
          {!known && value != null && value !== '' && <option value={String(value)}>{String(value)}</option>}
          {spec.choices.map((c) => <option key={c.value} value={c.value}>{c.label}</option>)}
        </select>
      );
      break;
    }
    case 'checkboxes': {
      const cur = toFormValue('multiselect', value);
      control = (
        <div className="fe-checks" data-testid={spec.testId}>
          {spec.choices.map((c) => (
            <label key={c.value} className="fe-check">
              <input type="checkbox" checked={cur.includes(c.value)} data-testid={`${spec.testId}-${c.value}`}
                onChange={(e) => commit(e.target.checked ? [...cur, c.value] : cur.filter((x) => x !== c.value))} />
              {c.label}
            </label>
          ))}
        </div>
      );
      break;
    }
    case 'checkbox':
      control = (
        <label className="fe-check fe-check-single">
          <input type="checkbox" checked={!!value} data-testid={spec.testId} onChange={(e) => commit(e.target.checked)} />
          {spec.label}
        </label>
      );
      break;
    case 'lines':
      control = <DraftLines value={value} onCommit={commit} testId={spec.testId} />;
      break;
    case 'pairs':
      control = <Pairs value={value} onCommit={commit} testId={spec.testId} t={t} />;
      break;
    case 'items':
      control = <Items spec={spec} value={value} onCommit={commit} t={t} />;
      break;
    default:
      control = <DraftText kind="json" multiline value={value} onCommit={commit} testId={spec.testId} t={t} />;
  }
  return (
    <div className={`fe-field fe-field-${spec.kind}`}>
      {spec.control !== 'checkbox' && (
        <label className="fe-label">
          {spec.label}
          {spec.required && <span className="fe-required">*</span>}
        </label>
      )}
      {control}
      {(spec.help || spec.kind === 'list') && (
        <div className="fe-help">{spec.help || t('one_per_line')}</div>
      )}
    </div>
  );
}

/** Repeatable sub-form for a json field with item_fields (e.g. condition rules); raw JSON one click away. */
function Items({ spec, value, onCommit, t }) {
  const [raw, setRaw] = useState(false);
  const items = Array.isArray(value) ? value : [];
  const set = (i, name, v) => onCommit(items.map((it, j) => (j === i ? { ...(it || {}), [name]: v } : it)));
  const move = (i, d) => {
    const next = [...items];
    const [it] = next.splice(i, 1);
    next.splice(i + d, 0, it);
    onCommit(next);
  };
  return (
    <div className="fe-items" data-testid={spec.testId}>
      <div className="fe-items-bar">
        <label className="fe-toggle"><input type="checkbox" checked={raw} onChange={(e) => setRaw(e.target.checked)} /> JSON</label>
      </div>
      {raw || (value != null && !Array.isArray(value)) ? (
        <DraftText kind="json" multiline value={value} onCommit={onCommit} testId={`${spec.testId}-json`} t={t} />
      ) : (
        <>
          {items.map((it, i) => (
            <div className="fe-item" key={i}>
              <div className="fe-item-head">
                <span className="fe-item-n">{i + 1}</span>
                <span className="fe-item-title">{it?.id || it?.variable || ''}</span>
                <button type="button" className="fe-icon-btn" disabled={i === 0} onClick={() => move(i, -1)} title="↑">↑</button>
                <button type="button" className="fe-icon-btn" disabled={i === items.length - 1} onClick={() => move(i, 1)} title="↓">↓</button>
                <button type="button" className="fe-icon-btn" onClick={() => onCommit(items.filter((_, j) => j !== i))}
                  title={t('remove')} data-testid={`${spec.testId}-${i}-remove`}>×</button>
              </div>
              {spec.items.map((sub) => (
                <Field key={sub.name} spec={{ ...sub, testId: `${spec.testId}-${i}-${sub.name}` }} value={it?.[sub.name]}
                  onChange={(name, v) => set(i, name, v)} t={t} />
              ))}
            </div>
          ))}
          <button type="button" className="fe-btn fe-btn-small" data-testid={`${spec.testId}-add`}
            onClick={() => onCommit([...items, newItem(spec, items)])}>+ {t('add_row')}</button>
        </>
      )}
    </div>
  );
}

/** Lines keep blank lines while typing; the stored value is the trimmed non-empty list. */
function DraftLines({ value, onCommit, testId }) {
  const [raw, setRaw] = useState(() => toFormValue('list', value));
  useEffect(() => {
    if (JSON.stringify(fromFormValue('list', raw).value) !== JSON.stringify(value || [])) setRaw(toFormValue('list', value));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);
  return (
    <textarea className="fe-input fe-textarea" rows={4} value={raw} data-testid={testId}
      onChange={(e) => { setRaw(e.target.value); onCommit(fromFormValue('list', e.target.value).value); }} />
  );
}

/** With nothing selected: the flow's own settings (top-level keys of the document). */
function FlowSettings({ flowMeta, onMetaChange, t }) {
  return (
    <div className="fe-flow-settings" data-testid="flow-settings">
      <div className="fe-inspector-type">{t('flow_settings')}</div>
      <div className="fe-field">
        <label className="fe-label" htmlFor="flow-restart-after">{t('restart_after')}</label>
        <DraftText kind="number" inputType="number" value={flowMeta?.restart_after_minutes ?? null}
          onCommit={(v) => onMetaChange('restart_after_minutes', v)} testId="flow-restart-after" t={t} />
        <div className="fe-help">{t('restart_after_help')}</div>
      </div>
    </div>
  );
}

function Inspector({ node, selectedCount, meta, problems, onChange, onReplaceData, onDelete, flowMeta, onMetaChange, t }) {
  if (!node) {
    return (
      <div className="fe-inspector fe-empty" data-testid="inspector">
        <p>{selectedCount > 1 ? t('multi_selection', { n: selectedCount }) : t('no_selection')}</p>
        {selectedCount === 0 && onMetaChange && <FlowSettings flowMeta={flowMeta} onMetaChange={onMetaChange} t={t} />}
      </div>
    );
  }
  const form = buildForm(meta);
  return (
    <div className="fe-inspector" data-testid="inspector">
      <div className="fe-inspector-head">
        <div>
          <div className="fe-inspector-type">{meta?.label || node.type}</div>
          {meta?.description && <div className="fe-inspector-desc">{meta.description}</div>}
        </div>
        <button type="button" className="fe-btn fe-btn-small fe-btn-danger" onClick={onDelete}
          data-testid="btn-delete-node">{t('delete_node')}</button>
      </div>
      <div className="fe-field">
        <label className="fe-label">{t('node_id')}</label>
        <code className="fe-node-id-box" data-testid="inspector-node-id">{node.id}</code>
      </div>
      {problems?.length > 0 && (
        <ul className="fe-inspector-problems">
          {problems.map((p, i) => <li key={i} className={`sev-${p.severity}`}>{p.message}</li>)}
        </ul>
      )}
      {!meta && (
        <>
          <div className="fe-help">{t('unknown_type', { type: node.type })}</div>
          <div className="fe-field">
            <label className="fe-label">{t('data')}</label>
            <DraftText kind="json" multiline value={node.data} onCommit={(v) => onReplaceData(v || {})}
              testId="field-__data" t={t} />
          </div>
        </>
      )}
      {form.map((spec) => (
        <Field key={`${node.id}:${spec.name}`} spec={spec} value={node.data?.[spec.name]} onChange={onChange} t={t} />
      ))}
    </div>
  );
}

export default memo(Inspector);
