import { useCallback, useEffect, useState } from 'react';

/** One toast at a time: `notify(text, kind)` shows it; it goes after 3 s (6 s for an error). */
export function useToast() {
  const [toast, setToast] = useState(null);
  const notify = useCallback((text, kind = 'info') => {
    setToast({ text, kind, at: Date.now() });
  }, []);
  useEffect(() => {
    if (!toast) return undefined;
    const id = setTimeout(() => setToast(null), toast.kind === 'error' ? 6000 : 3000);
    return () => clearTimeout(id);
  }, [toast]);
  return [toast, notify];
}
