import { useRef } from 'react';
import { HelpPopover } from './Extras.jsx';

/** The editor's top bar: flow name, save state, undo/redo, layout and fit, import/export, help, Save, Publish. */
export default function Toolbar({
  t, name, onRename, save, canUndo, canRedo, onUndo, onRedo, onLayout, onFit, onImport, onExport,
  helpOpen, setHelpOpen, onSave, onPublish, publishDisabled, blocked,
}) {
  const fileRef = useRef(null);
  const saveLabel = { saved: t('saved'), saving: t('saving'), dirty: t('unsaved'), error: t('save_failed', { error: save.error }) }[save.status];
  const onFile = (e) => {
    const file = e.target.files?.[0];
    e.target.value = '';
    if (file) onImport(file);
  };
  return (
    <header className="fe-toolbar">
      <div className="fe-brand"><span className="fe-logo">◆</span></div>
      <input className="fe-name" value={name} onChange={(e) => onRename(e.target.value)} aria-label={t('flow_name')}
        data-testid="flow-name" />
      <span className={`fe-save-state is-${save.status}`} data-testid="save-state" data-state={save.status} title={saveLabel}>
        <span className="fe-save-dot" />{saveLabel}
      </span>
      <div className="fe-spacer" />
      <div className="fe-group">
        <button type="button" className="fe-btn fe-btn-ghost" onClick={onUndo} disabled={!canUndo} data-testid="btn-undo" title={`${t('undo')} (Ctrl+Z)`}><span className="fe-ico">↶</span><span className="fe-btn-text fe-btn-text-opt">{t('undo')}</span></button>
        <button type="button" className="fe-btn fe-btn-ghost" onClick={onRedo} disabled={!canRedo} data-testid="btn-redo" title={`${t('redo')} (Ctrl+Shift+Z)`}><span className="fe-ico">↷</span><span className="fe-btn-text fe-btn-text-opt">{t('redo')}</span></button>
      </div>
      <div className="fe-group">
        <button type="button" className="fe-btn fe-btn-ghost" onClick={onLayout} data-testid="btn-layout" title={`${t('layout')} (Shift+L)`}><span className="fe-ico">⊞</span><span className="fe-btn-text">{t('layout')}</span></button>
        <button type="button" className="fe-btn fe-btn-ghost" onClick={onFit} data-testid="btn-fit" title={t('fit')}><span className="fe-ico">⤢</span><span className="fe-btn-text fe-btn-text-opt">{t('fit')}</span></button>
      </div>
      <div className="fe-group">
        <button type="button" className="fe-btn fe-btn-ghost" onClick={() => fileRef.current?.click()} data-testid="btn-import" title={t('import')}><span className="fe-ico">⤒</span><span className="fe-btn-text">{t('import')}</span></button>
        <input ref={fileRef} type="file" accept="application/json,.json" hidden onChange={onFile} data-testid="import-file" />
        <button type="button" className="fe-btn fe-btn-ghost" onClick={onExport} data-testid="btn-export" title={t('export')}><span className="fe-ico">⤓</span><span className="fe-btn-text">{t('export')}</span></button>
      </div>
      <div className="fe-group fe-help-wrap">
        <button type="button" className="fe-btn fe-btn-ghost fe-btn-round" onClick={() => setHelpOpen((o) => !o)} data-testid="btn-help" title={t('help')}>?</button>
        {helpOpen && <HelpPopover t={t} onClose={() => setHelpOpen(false)} />}
      </div>
      <button type="button" className="fe-btn" onClick={onSave} disabled={save.status === 'saving'} data-testid="btn-save">{t('save')}</button>
      <button type="button" className="fe-btn fe-btn-primary" onClick={onPublish} disabled={publishDisabled}
        data-testid="btn-publish" title={blocked ? t('publish_blocked') : ''}>{t('publish')}</button>
    </header>
  );
}
