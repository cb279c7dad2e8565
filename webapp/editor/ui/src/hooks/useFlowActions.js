import { useCallback, useState } from 'react';
import { extractDocument } from '../lib/document.js';
import { hasErrors } from '../lib/problems.js';

/**
 * The toolbar's and the versions panel's actions on the whole flow: publish (saving pending changes first;
 * refused while there are errors), import a JSON file, export the document, and reload the draft after a
 * rollback.
 */
export function useFlowActions({ api, t, flow, saveNow, replaceDocument, notify }) {
  const { problems, version, save, currentDocument, dispatch } = flow;
  const [publishing, setPublishing] = useState(false);

  const publish = useCallback(async () => {
    if (hasErrors(problems)) { notify(t('publish_blocked'), 'error'); return; }
    setPublishing(true);
    try {
      if (version && save.status !== 'saved') {
        const ok = await saveNow();
        if (!ok) return;
      }
      const res = await api.publish();
      notify(t('published', { n: res.version }), 'success');
    } catch (e) {
      if (Array.isArray(e.body?.problems)) dispatch({ type: 'problems', problems: e.body.problems });
      notify(t('publish_failed', { error: e.message }), 'error');
    } finally {
      setPublishing(false);
    }
  }, [problems, version, save.status, saveNow, api, notify, t, dispatch]);

  const importFile = useCallback(async (file) => {
    try {
      const doc = extractDocument(JSON.parse(await file.text()));
      if (!doc) throw new Error('not a flow document (no "nodes" list)');
      if (!doc.name) doc.name = flow.meta.name;
      const n = replaceDocument(doc);
      notify(t('imported', { n }), 'success');
    } catch (err) {
      notify(t('import_failed', { error: err.message }), 'error');
    }
  }, [flow.meta.name, replaceDocument, notify, t]);

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
    const stored = await api.getFlow();
    replaceDocument(stored.draft || {}, stored.problems);
  }, [api, replaceDocument]);

  return { publish, publishing, importFile, exportJson, onRolledBack };
}
