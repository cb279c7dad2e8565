// Keyboard shortcut → action name (pure, so it is unit-tested). Keep docs/editor.md and the help popover
// (components/Extras.jsx SHORTCUTS) in step with this table.

export function actionFor(e) {
  const mod = e.ctrlKey || e.metaKey;
  const key = String(e.key || '').toLowerCase();
  if (mod && key === 's') return 'save';
  if (mod && key === 'z') return e.shiftKey ? 'redo' : 'undo';
  if (mod && key === 'y') return 'redo';
  if (mod && key === 'c') return 'copy';
  if (mod && key === 'v') return 'paste';
  if (mod && key === 'd') return 'duplicate';
  if (mod && key === 'a') return 'selectAll';
  if (!mod && e.shiftKey && key === 'l') return 'layout';
  if (!mod && e.key === '?') return 'help';
  if (e.key === 'Escape') return 'closeHelp';
  return null;
}

export const isTyping = (el) => !!el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName || ''));
