import { useCallback, useEffect, useRef } from 'react';

export const AUTOSAVE_MS = 1000;
export const VALIDATE_MS = 400;

/**
 * Keeps the server in step with the canvas. After every document change (`changeTick`): validate
 * (POST /validate, debounced) and autosave the draft (PUT /draft, debounced). Answers about a document
 * that has changed since are dropped. Returns `saveNow` (Ctrl+S, Save button, before Publish) → true/false.
 */
export function useDraftSync({ api, currentDocument, tickRef, changeTick, setProblems, save, setSave }) {
  const validateSeq = useRef(0);
  useEffect(() => {
    if (!changeTick) return undefined;
    const id = setTimeout(async () => {
      const seq = ++validateSeq.current;
      const tick = tickRef.current;
      try {
        const res = await api.validate(currentDocument());
        // Drop answers about a document that has changed since (a newer validation is on its way).
        if (seq === validateSeq.current && tick === tickRef.current) setProblems(res.problems || []);
      } catch (e) { /* validation is advisory; save reports real failures */ }
    }, VALIDATE_MS);
    return () => clearTimeout(id);
  }, [changeTick, api, currentDocument, tickRef, setProblems]);

  const savingRef = useRef(null);
  const saveNow = useCallback(async () => {
    if (savingRef.current) await savingRef.current.catch(() => {});
    const tickAtStart = tickRef.current;
    const doc = currentDocument();
    setSave({ status: 'saving' });
    const p = api.saveDraft(doc);
    savingRef.current = p;
    try {
      const res = await p;
      if (tickRef.current === tickAtStart) {
        setSave({ status: 'saved', at: res.saved_at });
        if (Array.isArray(res.problems)) setProblems(res.problems);
      } else setSave({ status: 'dirty' });
      return true;
    } catch (e) {
      if (Array.isArray(e.body?.problems)) setProblems(e.body.problems);
      setSave({ status: 'error', error: e.message });
      return false;
    } finally {
      if (savingRef.current === p) savingRef.current = null;
    }
  }, [api, currentDocument, tickRef, setProblems, setSave]);

  useEffect(() => {
    if (!changeTick) return undefined;
    const id = setTimeout(saveNow, AUTOSAVE_MS);
    return () => clearTimeout(id);
  }, [changeTick, saveNow]);

  useEffect(() => {
    const warn = (e) => {
      if (save.status === 'dirty' || save.status === 'saving') { e.preventDefault(); e.returnValue = ''; }
    };
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [save.status]);

  return saveNow;
}
