import { useEffect, useEffectEvent } from 'react';
import { actionFor, isTyping } from '../lib/shortcuts.js';

/**
 * Document-level shortcuts for the editor. They act when the focus is inside the editor (or nowhere) and
 * not in a text field; Ctrl+S works everywhere. Delete/Backspace is React Flow's own `deleteKeyCode`.
 * `handlers` may change on every render: the listener always calls the current ones.
 */
export function useShortcuts(wrapperRef, handlers) {
  const onKey = useEffectEvent((e) => {
    const action = actionFor(e);
    if (!action) return;
    const h = handlers;
    if (action === 'save') {
      e.preventDefault();
      h.saveNow();
      return;
    }
    if (isTyping(e.target)) return;
    const root = wrapperRef.current?.closest('.fe-root');
    if (root && !root.contains(document.activeElement) && document.activeElement !== document.body) return;
    switch (action) {
      case 'undo': e.preventDefault(); h.undo(); break;
      case 'redo': e.preventDefault(); h.redo(); break;
      case 'copy': if (h.copy()) e.preventDefault(); break;
      case 'paste': e.preventDefault(); h.paste(); break;
      case 'duplicate': e.preventDefault(); h.duplicate(); break;
      case 'selectAll':
        e.preventDefault();
        h.setNodes((ns) => ns.map((n) => (n.selected ? n : { ...n, selected: true })));
        break;
      case 'layout': e.preventDefault(); h.layout(); break;
      case 'help': h.toggleHelp((o) => !o); break;
      case 'closeHelp': h.toggleHelp(false); break;
      default:
    }
  });
  useEffect(() => {
    const listener = (e) => onKey(e);
    document.addEventListener('keydown', listener);
    return () => document.removeEventListener('keydown', listener);
  }, []);
}
