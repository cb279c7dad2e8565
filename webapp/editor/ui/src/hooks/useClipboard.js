import { useCallback, useRef } from 'react';
import { copySelection } from '../lib/clipboard.js';

const STORAGE_KEY = 'temoweb-flow-clipboard';

/**
 * Copy, paste and duplicate. The clipboard is kept here and in localStorage (so it survives a reload and
 * crosses tabs); each paste of the same clipboard lands 40 px further along instead of on top.
 */
export function useClipboard({ flow }) {
  const { nodes, edges, dispatch } = flow;
  // Not state: nothing renders the clipboard.
  const clipboard = useRef(null);

  const copy = useCallback(() => {
    const clip = copySelection(nodes, edges);
    if (!clip.nodes.length) return false;
    clipboard.current = clip;
    try { window.localStorage?.setItem(STORAGE_KEY, JSON.stringify(clip)); } catch (e) { /* private mode */ }
    return clip;
  }, [nodes, edges]);

  const paste = useCallback((clip) => {
    let c = clip || clipboard.current;
    if (!c) {
      try { c = JSON.parse(window.localStorage?.getItem(STORAGE_KEY) || 'null'); } catch (e) { c = null; }
    }
    if (!c?.nodes?.length) return;
    dispatch({ type: 'pasted', clip: c });
    if (!clip) clipboard.current = { ...c, nodes: c.nodes.map((n) => ({ ...n, position: { x: (n.position?.x || 0) + 40, y: (n.position?.y || 0) + 40 } })) };
  }, [dispatch]);

  const duplicate = useCallback(() => {
    const clip = copySelection(nodes, edges);
    if (clip.nodes.length) paste(clip);
  }, [nodes, edges, paste]);

  return { copy, paste, duplicate };
}
