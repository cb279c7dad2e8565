// @vitest-environment happy-dom
// The whole editor mounted on a fake Seam 5 API: load, add a node from the palette, edit it in the
// inspector, autosave (document shape + CSRF header), validation badges and the Publish gate.
import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import { act } from 'react';
import { mount } from '../main.jsx';

globalThis.IS_REACT_ACT_ENVIRONMENT = true;
if (!globalThis.ResizeObserver) {
  globalThis.ResizeObserver = class { observe() {} unobserve() {} disconnect() {} };
}

const NODE_TYPES = [
  { type: 'trigger', label: 'Trigger', category: 'start', description: 'Start', ports: ['out'], waits: false, fields: [] },
  { type: 'message', label: 'Message', category: 'messages', description: 'Say something', ports: ['out'], waits: false,
    fields: [{ name: 'text', label: 'Text', kind: 'textarea', required: true }] },
];
const DRAFT = {
  schema_version: 1, name: 'Demo', extra_key: { keep: true },
  nodes: [{ id: 'start', type: 'trigger', position: { x: 0, y: 0 }, data: {} }],
  edges: [],
};

let calls;
let root;
let el;
function fakeFetch(url, opts = {}) {
  const method = opts.method || 'GET';
  const body = opts.body ? JSON.parse(opts.body) : undefined;
  calls.push({ url, method, headers: opts.headers, body, credentials: opts.credentials });
  const ok = (data) => Promise.resolve(new Response(JSON.stringify(data), { status: 200 }));
  const problemsOf = (doc) => doc.nodes.filter((n) => n.type === 'message' && !n.data.text)
    .map((n) => ({ node_id: n.id, severity: 'error', code: 'required', message: 'Text is required' }));
  if (url.endsWith('/node-types')) return ok({ node_types: NODE_TYPES });
  if (url.endsWith('/flows/7') && method === 'GET') return ok({ id: 7, name: 'Demo', draft: DRAFT, problems: [] });
  if (url.endsWith('/validate')) return ok({ problems: problemsOf(body.document) });
  if (url.endsWith('/draft')) return ok({ saved_at: 'now', problems: problemsOf(body.document) });
  return Promise.resolve(new Response(JSON.stringify({ error: 'nope' }), { status: 404 }));
}

beforeEach(() => {
  calls = [];
  vi.useFakeTimers({ shouldAdvanceTime: true });
  globalThis.fetch = vi.fn(fakeFetch);
  el = document.createElement('div');
  el.id = 'flow-editor';
  Object.assign(el.dataset, { flowId: '7', apiBase: '/api', csrfToken: 'tok', language: 'en' });
  el.style.width = '1200px';
  el.style.height = '800px';
  document.body.appendChild(el);
});
afterEach(() => {
  act(() => root.unmount());
  el.remove();
  vi.useRealTimers();
});

const $ = (id) => el.querySelector(`[data-testid="${id}"]`);
async function settle(ms = 0) {
  await act(async () => { await vi.advanceTimersByTimeAsync(ms); });
}
function type(node, value) {
  Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value').set.call(node, value);
  act(() => node.dispatchEvent(new Event('input', { bubbles: true })));
}

describe('editor app', () => {
  it('loads, adds a node, validates, autosaves the exact document and gates Publish', async () => {
    await act(async () => { root = mount(el); });
    await settle(50);
    expect($('flow-editor-root').dataset.ready).toBe('true');
    // The test panel also asks which channels have a test account (read-only, may come twice in StrictMode).
    expect(calls.map((c) => c.url).filter((u) => u !== '/api/test-channels')).toEqual(['/api/node-types', '/api/flows/7']);
    expect(calls.filter((c) => c.url === '/api/test-channels').every((c) => c.method === 'GET')).toBe(true);
    expect(calls.every((c) => c.credentials === 'same-origin')).toBe(true);
    expect($('palette-message')).not.toBeNull();
    expect($('save-state').dataset.state).toBe('saved');

    act(() => $('palette-message').click());
    expect($('inspector-node-id').textContent).toBe('message_1');
    expect($('save-state').dataset.state).toBe('dirty');
    await settle(1500);
    expect($('btn-publish').disabled).toBe(true);
    expect(el.querySelector('[data-testid="problem-item"]').dataset.nodeId).toBe('message_1');

    type($('field-text'), 'Hello!');
    await settle(1500);
    const puts = calls.filter((c) => c.method === 'PUT');
    const last = puts[puts.length - 1];
    expect(last.url).toBe('/api/flows/7/draft');
    expect(last.headers['X-CSRFToken']).toBe('tok');
    const doc = last.body.document;
    expect(Object.keys(doc).sort()).toEqual(['edges', 'extra_key', 'name', 'nodes', 'schema_version']);
    expect(doc.extra_key).toEqual({ keep: true });
    expect(doc.nodes[1]).toMatchObject({ id: 'message_1', type: 'message', data: { text: 'Hello!' } });
    expect(Object.keys(doc.nodes[1]).sort()).toEqual(['data', 'id', 'position', 'type']);
    expect($('save-state').dataset.state).toBe('saved');
    expect($('btn-publish').disabled).toBe(false);

    act(() => $('btn-undo').click());
    expect($('field-text').value).toBe('');
    act(() => $('btn-redo').click());
    expect($('field-text').value).toBe('Hello!');
  });
});
