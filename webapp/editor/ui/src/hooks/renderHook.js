// A minimal renderHook for the hooks' unit tests (React's own act + createRoot; no testing library needed).
import { act, createElement } from 'react';
import { createRoot } from 'react-dom/client';

globalThis.IS_REACT_ACT_ENVIRONMENT = true;

/** Render `hook(props)` in a probe component; `result.current` is its latest return value. */
export function renderHook(hook, props) {
  const result = { current: undefined };
  let renders = 0;
  function Probe({ p }) {
    renders += 1;
    result.current = hook(p);
    return null;
  }
  const root = createRoot(document.createElement('div'));
  act(() => root.render(createElement(Probe, { p: props })));
  return {
    result,
    get renders() { return renders; },
    rerender(p = props) { act(() => root.render(createElement(Probe, { p }))); },
    unmount() { act(() => root.unmount()); },
  };
}
