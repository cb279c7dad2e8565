import { useCallback, useEffect, useEffectEvent, useRef } from 'react';

export const AUTOSAVE_MS = 1000;
export const VALIDATE_MS = 400;

/**
 * Keeps the server in step with the document (`flow` from useFlowDocument). After every change (a new
 * `flow.version`): validate (POST /validate, debounced) and autosave the draft (PUT /draft, debounced).
 * Answers name the version they were about; the reducer drops those about a document that has changed
 * since. Returns `saveNow` (Ctrl+S, Save button, before Publish) → true/false. Warns before leaving the
 * page with unsaved changes.
 */
export function useDraftSync({ api, flow }) {
  const { version, currentDocument, dispatch } = flow;
  const status = flow.save.status;

  const validate = useEffectEvent(async (about) => {
    try {
      const res = await api.validate(currentDocument());
      dispatch({ type: 'problems', problems: res.problems || [], version: about });
    } catch (e) { /* validation is advisory; save reports real failures */ }
  });
  useEffect(() => {
    if (!version) return undefined;
    const id = setTimeout(() => validate(version), VALIDATE_MS);
    return () => clearTimeout(id);
  }, [version]);

  // The save in flight (not state: nothing renders it): the next one waits for it, so answers come in order.
  const inFlight = useRef(null);
  const saveNow = useCallback(async () => {
    if (inFlight.current) await inFlight.current.catch(() => {});
    dispatch({ type: 'saveStarted' });
    const p = api.saveDraft(currentDocument());
    inFlight.current = p;
    try {
      const res = await p;
      dispatch({ type: 'saveDone', version, at: res.saved_at, problems: res.problems });
      return true;
    } catch (e) {
      dispatch({ type: 'saveFailed', error: e.message, problems: e.body?.problems });
      return false;
    } finally {
      if (inFlight.current === p) inFlight.current = null;
    }
  }, [api, currentDocument, version, dispatch]);

  const autosave = useEffectEvent(() => { saveNow(); });
  useEffect(() => {
    if (!version) return undefined;
    const id = setTimeout(autosave, AUTOSAVE_MS);
    return () => clearTimeout(id);
  }, [version]);

  useEffect(() => {
    const warn = (e) => {
      if (status === 'dirty' || status === 'saving') { e.preventDefault(); e.returnValue = ''; }
    };
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [status]);

  return saveNow;
}
