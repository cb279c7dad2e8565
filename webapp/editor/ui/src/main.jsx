import { StrictMode, useMemo } from 'react';
import { createRoot } from 'react-dom/client';
import { ReactFlowProvider } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import './styles.css';
import App from './components/App.jsx';
import { createApi } from './api.js';
import { makeT } from './i18n.js';

function Root({ flowId, apiBase, csrf, language }) {
  const api = useMemo(() => createApi({ base: apiBase, flowId, csrf }), [apiBase, flowId, csrf]);
  const t = useMemo(() => makeT(language), [language]);
  return (
    <ReactFlowProvider>
      <App api={api} t={t} />
    </ReactFlowProvider>
  );
}

/** Mount the editor on an element carrying data-flow-id, data-api-base, data-csrf-token, data-language. */
export function mount(el) {
  const d = el.dataset;
  const root = createRoot(el);
  root.render(
    <StrictMode>
      <Root flowId={d.flowId} apiBase={d.apiBase || '/api'} csrf={d.csrfToken || ''} language={d.language || 'en'} />
    </StrictMode>,
  );
  return root;
}

const el = typeof document !== 'undefined' && document.getElementById('flow-editor');
if (el && !el.dataset.mounted) {
  el.dataset.mounted = '1';
  mount(el);
}
