import { StrictMode, useMemo } from 'react';
import { createRoot } from 'react-dom/client';
import { ReactFlowProvider } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import './styles.css';
import App from './components/App.jsx';
import { createApi } from './api.js';
import { makeT, readTranslations } from './i18n.js';

function Root({ api, preload, translations }) {
  const t = useMemo(() => makeT(translations), [translations]);
  return (
    <ReactFlowProvider>
      <App api={api} t={t} preload={preload} />
    </ReactFlowProvider>
  );
}

/**
 * Mount the editor on an element carrying data-flow-id, data-api-base, data-csrf-token and data-messages (the
 * editor's texts translated by the server: {msgid: text}; absent or empty for English).
 */
export function mount(el) {
  const d = el.dataset;
  const api = createApi({ base: d.apiBase || '/api', flowId: d.flowId, csrf: d.csrfToken || '' });
  // Start loading before React renders anything: the requests overlap the first render.
  const preload = Promise.all([api.nodeTypes(), api.getFlow()]);
  preload.catch(() => {}); // handled where it is awaited
  const root = createRoot(el);
  root.render(
    <StrictMode>
      <Root api={api} preload={preload} translations={readTranslations(d.messages)} />
    </StrictMode>,
  );
  return root;
}

const el = typeof document !== 'undefined' && document.getElementById('flow-editor');
if (el && !el.dataset.mounted) {
  el.dataset.mounted = '1';
  mount(el);
}
