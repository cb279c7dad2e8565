import { createContext, useContext, useSyncExternalStore, useCallback } from 'react';

/** Static editor context: node type registry, i18n, decoration store. */
export const EditorContext = createContext(null);
export const useEditor = () => useContext(EditorContext);

export function useDecoration(id) {
  const { decorations } = useEditor();
  const get = useCallback(() => decorations.get(id), [decorations, id]);
  return useSyncExternalStore(decorations.subscribe, get, get);
}
