// Undo/redo as an immutable value: {past, present, future, key}. `key` lets rapid edits of the same thing
// (typing in one field) coalesce into one undo step.

export const HISTORY_LIMIT = 100;

export function createHistory(present) {
  return { past: [], present, future: [], key: null };
}

export function record(h, next, key = null, limit = HISTORY_LIMIT) {
  if (key && h.key === key && h.past.length) {
    return { ...h, present: next, future: [] };
  }
  const past = [...h.past, h.present];
  if (past.length > limit) past.splice(0, past.length - limit);
  return { past, present: next, future: [], key };
}

export const canUndo = (h) => h.past.length > 0;
export const canRedo = (h) => h.future.length > 0;

export function undo(h) {
  if (!canUndo(h)) return h;
  const past = h.past.slice(0, -1);
  return { past, present: h.past[h.past.length - 1], future: [h.present, ...h.future], key: null };
}

export function redo(h) {
  if (!canRedo(h)) return h;
  const [present, ...future] = h.future;
  return { past: [...h.past, h.present], present, future, key: null };
}
