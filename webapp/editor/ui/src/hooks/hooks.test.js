// @vitest-environment happy-dom
// The editor's hooks, each driven through React (renderHook) the way App uses them; the document hook is
// real wherever a hook works on the document.
import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import { act } from 'react';
import { renderHook } from './renderHook.js';
import { useFlowDocument } from './useFlowDocument.js';
import { useDraftSync, AUTOSAVE_MS, VALIDATE_MS } from './useDraftSync.js';
import { useShortcuts } from './useShortcuts.js';
import { useClipboard } from './useClipboard.js';
import { useToast } from './useToast.js';
import { usePanels } from './usePanels.js';
import { useDecorations } from './useDecorations.js';
import { useSelection } from './useSelection.js';
import { useFlowLoader } from './useFlowLoader.js';
import { useCanvasEditing } from './useCanvasEditing.js';
import { useLayout } from './useLayout.js';
import { useFlowActions } from './useFlowActions.js';
import { documentToFlow } from '../lib/document.js';
import { makeT } from '../i18n.js';

const DOC = {
  schema_version: 1, name: 'Demo',
  nodes: [
    { id: 'start', type: 'trigger', position: { x: 0, y: 0 }, data: {} },
    { id: 'hello', type: 'message', position: { x: 300, y: 0 }, data: { text: 'Hi' } },
  ],
  edges: [{ id: 'e1', source: 'start', sourceHandle: 'out', target: 'hello' }],
};
const TYPES = {
  trigger: { type: 'trigger', ports: ['out'], fields: [] },
  message: { type: 'message', ports: ['out'], fields: [{ name: 'text', kind: 'textarea', required: true }] },
};
const t = makeT({});

function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}
const load = (flow, doc = DOC) => act(() => flow.dispatch({ type: 'loaded', ...documentToFlow(doc), problems: [] }));
const select = (flow, id) => act(() => flow.setNodes((ns) => ns.map((n) => ({ ...n, selected: n.id === id }))));
const edit = (flow, text) => act(() => {
  flow.setNodes((ns) => ns.map((n) => (n.id === 'hello' ? { ...n, data: { text } } : n)));
  flow.commit();
});
async function tick(ms = 0) {
  await act(async () => { await vi.advanceTimersByTimeAsync(ms); });
}

/** A stand-in for React Flow's instance, reading the document hook's nodes as React Flow's store would. */
function fakeRf(get) {
  return {
    getNodes: () => get().nodes,
    getNode: (id) => get().nodes.find((n) => n.id === id),
    getZoom: () => 0.5,
    setCenter: vi.fn(),
    fitView: vi.fn(),
    deleteElements: vi.fn(),
    screenToFlowPosition: ({ x, y }) => ({ x, y }),
  };
}

let hooks;
beforeEach(() => {
  hooks = [];
  // Only the timers the hooks use: React's act needs its own macrotasks (setImmediate/MessageChannel) real.
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  hooks.forEach((h) => h.unmount());
  vi.useRealTimers();
});
const render = (hook, props) => {
  const h = renderHook(hook, props);
  hooks.push(h);
  return h;
};

describe('useFlowDocument', () => {
  it('keeps its functions across document changes (memoised children do not re-render)', () => {
    const { result } = render(() => useFlowDocument());
    load(result.current);
    const first = result.current;
    edit(result.current, 'Bye');
    for (const k of ['setNodes', 'setEdges', 'commit', 'commitSoon', 'rename', 'undo', 'redo', 'dispatch']) {
      expect(result.current[k]).toBe(first[k]);
    }
    expect(result.current.currentDocument).not.toBe(first.currentDocument);
    expect(result.current.currentDocument().nodes[1].data.text).toBe('Bye');
    expect(result.current.canUndo).toBe(true);
    expect(result.current.name).toBe('Demo');
  });

  it('records one step for the node and edge removals of one deletion', async () => {
    const { result } = render(() => useFlowDocument());
    load(result.current);
    act(() => {
      result.current.setEdges([]);
      result.current.commitSoon();
      result.current.setNodes((ns) => ns.filter((n) => n.id !== 'hello'));
      result.current.commitSoon();
    });
    expect(result.current.version).toBe(0);
    await tick(0);
    expect(result.current.version).toBe(1);
    expect(result.current.history.past).toHaveLength(1);
    act(() => result.current.undo());
    expect(result.current.nodes).toHaveLength(2);
    expect(result.current.edges).toHaveLength(1);
  });
});

describe('useDraftSync', () => {
  function setup() {
    const api = { validate: vi.fn(), saveDraft: vi.fn() };
    const h = render(() => {
      const flow = useFlowDocument();
      return { flow, saveNow: useDraftSync({ api, flow }) };
    });
    load(h.result.current.flow);
    return { api, result: h.result };
  }

  it('does nothing until the first change, then validates and autosaves the current document once', async () => {
    const { api, result } = setup();
    api.validate.mockResolvedValue({ problems: [{ node_id: 'hello', severity: 'warning', message: 'w' }] });
    api.saveDraft.mockResolvedValue({ saved_at: 'now', problems: [] });
    await tick(AUTOSAVE_MS * 2);
    expect(api.validate).not.toHaveBeenCalled();
    expect(api.saveDraft).not.toHaveBeenCalled();

    edit(result.current.flow, 'A');
    await tick(VALIDATE_MS - 1);
    edit(result.current.flow, 'AB'); // restarts both debounces
    await tick(VALIDATE_MS);
    expect(api.validate).toHaveBeenCalledTimes(1);
    expect(api.validate.mock.calls[0][0].nodes[1].data.text).toBe('AB');
    expect(result.current.flow.problems).toHaveLength(1);
    expect(result.current.flow.save.status).toBe('dirty');
    await tick(AUTOSAVE_MS);
    expect(api.saveDraft).toHaveBeenCalledTimes(1);
    expect(api.saveDraft.mock.calls[0][0]).toEqual({ ...DOC, nodes: [DOC.nodes[0], { ...DOC.nodes[1], data: { text: 'AB' } }] });
    expect(result.current.flow.save).toEqual({ status: 'saved', at: 'now' });
    expect(result.current.flow.problems).toEqual([]);
  });

  it('stays unsaved when the document changes during a save, and saves the change next', async () => {
    const { api, result } = setup();
    api.validate.mockResolvedValue({ problems: [] });
    const first = deferred();
    api.saveDraft.mockReturnValueOnce(first.promise).mockResolvedValue({ saved_at: 'later' });
    edit(result.current.flow, 'A');
    await tick(AUTOSAVE_MS);
    expect(result.current.flow.save.status).toBe('saving');
    edit(result.current.flow, 'AB');
    expect(result.current.flow.save.status).toBe('dirty');
    await act(async () => { first.resolve({ saved_at: 'now', problems: [{ node_id: 'x', severity: 'error' }] }); });
    expect(result.current.flow.save.status).toBe('dirty');
    expect(result.current.flow.problems).toEqual([]); // about the old version: dropped
    await tick(AUTOSAVE_MS);
    expect(api.saveDraft).toHaveBeenCalledTimes(2);
    expect(api.saveDraft.mock.calls[1][0].nodes[1].data.text).toBe('AB');
    expect(result.current.flow.save.status).toBe('saved');
  });

  it('drops a validation answer that comes after a newer change', async () => {
    const { api, result } = setup();
    const slow = deferred();
    api.validate.mockReturnValueOnce(slow.promise).mockResolvedValue({ problems: [] });
    api.saveDraft.mockResolvedValue({ saved_at: 'now' });
    edit(result.current.flow, 'A');
    await tick(VALIDATE_MS);
    edit(result.current.flow, 'AB');
    await act(async () => { slow.resolve({ problems: [{ node_id: 'hello', severity: 'error', message: 'old' }] }); });
    expect(result.current.flow.problems).toEqual([]);
  });

  it('reports a failed save with the problems the server gave; saveNow says false', async () => {
    const { api, result } = setup();
    api.validate.mockResolvedValue({ problems: [] });
    api.saveDraft.mockRejectedValue(Object.assign(new Error('HTTP 422'), { body: { problems: [{ node_id: 'hello', severity: 'error', message: 'bad' }] } }));
    edit(result.current.flow, 'A');
    let ok;
    await act(async () => { ok = await result.current.saveNow(); });
    expect(ok).toBe(false);
    expect(result.current.flow.save).toEqual({ status: 'error', error: 'HTTP 422' });
    expect(result.current.flow.problems.map((p) => p.message)).toEqual(['bad']);
  });

  it('sends one save at a time: a second waits for the first', async () => {
    const { api, result } = setup();
    api.validate.mockResolvedValue({ problems: [] });
    const first = deferred();
    api.saveDraft.mockReturnValueOnce(first.promise).mockResolvedValue({ saved_at: 'b' });
    edit(result.current.flow, 'A');
    let a;
    let b;
    await act(async () => { a = result.current.saveNow(); b = result.current.saveNow(); });
    expect(api.saveDraft).toHaveBeenCalledTimes(1);
    await act(async () => { first.resolve({ saved_at: 'a' }); await a; await b; });
    expect(api.saveDraft).toHaveBeenCalledTimes(2);
    expect(result.current.flow.save).toEqual({ status: 'saved', at: 'b' });
  });

  it('asks before leaving the page only while there are unsaved changes', async () => {
    const { api, result } = setup();
    api.validate.mockResolvedValue({ problems: [] });
    api.saveDraft.mockResolvedValue({ saved_at: 'now' });
    const leave = () => {
      const e = new Event('beforeunload', { cancelable: true });
      window.dispatchEvent(e);
      return e.defaultPrevented;
    };
    expect(leave()).toBe(false);
    edit(result.current.flow, 'A');
    expect(leave()).toBe(true);
    await tick(AUTOSAVE_MS);
    expect(result.current.flow.save.status).toBe('saved');
    expect(leave()).toBe(false);
  });
});

describe('useShortcuts', () => {
  function setup() {
    const wrapper = document.createElement('div');
    wrapper.className = 'fe-root';
    document.body.appendChild(wrapper);
    const make = () => ({
      undo: vi.fn(), redo: vi.fn(), copy: vi.fn(() => true), paste: vi.fn(), duplicate: vi.fn(), layout: vi.fn(),
      saveNow: vi.fn(), setNodes: vi.fn(), toggleHelp: vi.fn(),
    });
    const h = render((handlers) => useShortcuts({ current: wrapper }, handlers), make());
    return { wrapper, make, h };
  }
  const press = (target, init) => {
    const e = new KeyboardEvent('keydown', { bubbles: true, cancelable: true, ...init });
    target.dispatchEvent(e);
    return e.defaultPrevented;
  };
  afterEach(() => { document.body.innerHTML = ''; });

  it('calls the handlers of the latest render', () => {
    const { make, h, wrapper } = setup();
    const next = make();
    h.rerender(next);
    expect(press(document.body, { key: 'z', ctrlKey: true })).toBe(true);
    expect(press(document.body, { key: 'Z', ctrlKey: true, shiftKey: true })).toBe(true);
    expect(press(document.body, { key: 'L', shiftKey: true })).toBe(true);
    expect(next.undo).toHaveBeenCalledTimes(1);
    expect(next.redo).toHaveBeenCalledTimes(1);
    expect(next.layout).toHaveBeenCalledTimes(1);
    press(document.body, { key: '?' });
    press(document.body, { key: 'Escape' });
    expect(next.toggleHelp.mock.calls[1]).toEqual([false]);
    press(document.body, { key: 'a', ctrlKey: true });
    const selectAll = next.setNodes.mock.calls[0][0];
    expect(selectAll([{ id: 'a' }, { id: 'b', selected: true }]).every((n) => n.selected)).toBe(true);
    wrapper.remove();
  });

  it('leaves keys typed in a field alone, except Ctrl+S', () => {
    const { make, h, wrapper } = setup();
    const handlers = make();
    h.rerender(handlers);
    const input = document.createElement('input');
    wrapper.appendChild(input);
    expect(press(input, { key: 'z', ctrlKey: true })).toBe(false);
    expect(handlers.undo).not.toHaveBeenCalled();
    expect(press(input, { key: 's', ctrlKey: true })).toBe(true);
    expect(handlers.saveNow).toHaveBeenCalledTimes(1);
  });

  it('stops listening when unmounted', () => {
    const { make, h } = setup();
    const handlers = make();
    h.rerender(handlers);
    h.unmount();
    hooks.splice(hooks.indexOf(h), 1);
    press(document.body, { key: 'z', ctrlKey: true });
    expect(handlers.undo).not.toHaveBeenCalled();
  });
});

describe('useClipboard', () => {
  it('pastes the copy 40 px further each time, and duplicates the selection', () => {
    localStorage.clear();
    const { result } = render(() => {
      const flow = useFlowDocument();
      return { flow, ...useClipboard({ flow }) };
    });
    load(result.current.flow);
    expect(result.current.copy()).toBe(false);
    select(result.current.flow, 'hello');
    expect(result.current.copy().nodes.map((n) => n.id)).toEqual(['hello']);
    act(() => result.current.paste());
    act(() => result.current.paste());
    const at = (id) => result.current.flow.nodes.find((n) => n.id === id).position;
    expect(at('message_1')).toEqual({ x: 340, y: 40 });
    expect(at('message_2')).toEqual({ x: 380, y: 80 });
    expect(result.current.flow.nodes.filter((n) => n.selected).map((n) => n.id)).toEqual(['message_2']);
    act(() => result.current.duplicate());
    expect(at('message_3')).toEqual({ x: 420, y: 120 });
    expect(result.current.flow.history.past).toHaveLength(3);
    expect(JSON.parse(localStorage.getItem('temoweb-flow-clipboard')).nodes[0].id).toBe('hello');
  });

  it('pastes what another tab copied', () => {
    localStorage.setItem('temoweb-flow-clipboard', JSON.stringify({ nodes: [DOC.nodes[1]], edges: [] }));
    const { result } = render(() => {
      const flow = useFlowDocument();
      return { flow, ...useClipboard({ flow }) };
    });
    load(result.current.flow);
    act(() => result.current.paste());
    expect(result.current.flow.nodes.map((n) => n.id)).toEqual(['start', 'hello', 'message_1']);
  });
});

describe('useToast', () => {
  it('shows one toast; an error stays 6 s, anything else 3 s', async () => {
    const { result } = render(() => useToast());
    act(() => result.current[1]('Saved', 'success'));
    expect(result.current[0]).toMatchObject({ text: 'Saved', kind: 'success' });
    await tick(3000);
    expect(result.current[0]).toBeNull();
    act(() => result.current[1]('Broken', 'error'));
    await tick(3000);
    expect(result.current[0]?.text).toBe('Broken');
    await tick(3000);
    expect(result.current[0]).toBeNull();
  });
});

describe('usePanels', () => {
  it('shows the inspector on a node click unless a test tab is open; a double click always does', () => {
    const { result } = render(() => usePanels());
    act(() => result.current.setTab('versions'));
    act(() => result.current.onNodeClick());
    expect(result.current.tab).toBe('inspector');
    act(() => { result.current.setTab('test'); result.current.setCollapsed(true); });
    act(() => result.current.onNodeClick());
    expect(result.current.tab).toBe('test');
    act(() => result.current.onNodeDoubleClick());
    expect(result.current).toMatchObject({ tab: 'inspector', collapsed: false });
  });
});

describe('useDecorations', () => {
  it('marks problems, the traced path (edges animated) and a diff on the nodes', () => {
    const problems = [{ node_id: 'hello', severity: 'error', message: 'x' }];
    const { result } = render((p) => useDecorations(p), { problems, edges: DOC.edges });
    const { decorations } = result.current;
    expect(decorations.get('hello').errors).toBe(1);
    expect(result.current.displayEdges).toBe(DOC.edges);
    act(() => result.current.onTrace(['start', 'hello']));
    expect(decorations.get('start').trace).toBe(true);
    expect(result.current.displayEdges[0]).toMatchObject({ id: 'e1', animated: true, className: 'is-trace' });
    act(() => result.current.onTrace(['hello']));
    expect(result.current.displayEdges).toBe(DOC.edges);
    act(() => result.current.onDiff({ added: ['start'], changed: [{ id: 'hello' }] }));
    expect([decorations.get('start').diff, decorations.get('hello').diff]).toEqual(['added', 'changed']);
    act(() => result.current.onDiff(null));
    expect(decorations.get('start').diff).toBeNull();
  });
});

describe('useSelection', () => {
  function setup() {
    const openInspector = vi.fn();
    let rf;
    const h = render(() => {
      const flow = useFlowDocument();
      return { flow, ...useSelection({ flow, rf, openInspector }) };
    });
    rf = fakeRf(() => h.result.current.flow);
    h.rerender();
    load(h.result.current.flow);
    return { ...h, rf, openInspector };
  }

  it('edits the selected node, one undo step per field while typing', () => {
    const { result } = setup();
    select(result.current.flow, 'hello');
    expect(result.current.single.id).toBe('hello');
    act(() => result.current.onFieldChange('text', 'H'));
    act(() => result.current.onFieldChange('text', 'He'));
    expect(result.current.flow.nodes[1].data).toEqual({ text: 'He' });
    expect(result.current.flow.history.past).toHaveLength(1);
    act(() => result.current.onReplaceData({ text: 'JSON' }));
    expect(result.current.flow.history.past).toHaveLength(2);
  });

  it('keeps the inspector callbacks while other nodes move', () => {
    const { result } = setup();
    select(result.current.flow, 'hello');
    const { onFieldChange, deleteSelected, focusNode } = result.current;
    act(() => result.current.flow.setNodes((ns) => ns.map((n) => (n.id === 'start' ? { ...n, position: { x: 9, y: 9 } } : n))));
    expect(result.current.onFieldChange).toBe(onFieldChange);
    expect(result.current.deleteSelected).toBe(deleteSelected);
    expect(result.current.focusNode).toBe(focusNode);
  });

  it('focuses a node: selects only it, centres it, opens the inspector', () => {
    const { result, rf, openInspector } = setup();
    select(result.current.flow, 'start');
    act(() => result.current.focusNode('hello'));
    expect(result.current.flow.nodes.filter((n) => n.selected).map((n) => n.id)).toEqual(['hello']);
    expect(rf.setCenter).toHaveBeenCalledWith(420, 40, { zoom: 1, duration: 300 });
    expect(openInspector).toHaveBeenCalled();
    act(() => result.current.focusNode('gone'));
    expect(rf.setCenter).toHaveBeenCalledTimes(1);
  });

  it('deletes the selection through React Flow (so edges go with their nodes)', () => {
    const { result, rf } = setup();
    act(() => result.current.deleteSelected());
    expect(rf.deleteElements).not.toHaveBeenCalled();
    select(result.current.flow, 'hello');
    act(() => result.current.deleteSelected());
    expect(rf.deleteElements).toHaveBeenCalledWith({ nodes: [{ id: 'hello' }] });
  });
});

describe('useFlowLoader', () => {
  function setup(stored, { validate = { problems: [] } } = {}) {
    const api = { validate: vi.fn().mockResolvedValue(validate) };
    const preload = Promise.resolve([{ node_types: Object.values(TYPES) }, stored]);
    const wrapperRef = { current: null };
    const h = render(() => {
      const flow = useFlowDocument();
      return { flow, loader: useFlowLoader({ api, preload, flow, wrapperRef }) };
    });
    return { api, result: h.result };
  }

  it('opens the draft, lays out one without positions, and takes the stored problems', async () => {
    const bare = { ...DOC, nodes: DOC.nodes.map(({ position, ...n }) => n) };
    const problems = [{ node_id: 'hello', severity: 'warning', message: 'w' }];
    const { api, result } = setup({ name: 'Demo', draft: bare, problems });
    expect(result.current.loader.status).toBe('loading');
    await tick();
    expect(result.current.loader).toMatchObject({ status: 'ready', nodeTypes: Object.values(TYPES) });
    expect(result.current.loader.fit).toBeTruthy();
    const xs = result.current.flow.nodes.map((n) => n.position.x);
    expect(xs[1]).toBeGreaterThan(xs[0]);
    expect(result.current.flow.problems).toBe(problems);
    expect(result.current.flow.version).toBe(0);
    expect(api.validate).not.toHaveBeenCalled();
  });

  it('validates a draft stored without problems, unless it was edited meanwhile', async () => {
    const problems = [{ node_id: 'hello', severity: 'error', message: 'e' }];
    const first = setup({ name: 'Demo', draft: DOC }, { validate: { problems } });
    await tick();
    expect(first.api.validate).toHaveBeenCalledWith(DOC);
    expect(first.result.current.flow.problems).toBe(problems);

    const second = setup({ name: 'Demo', draft: DOC });
    const slow = deferred();
    second.api.validate.mockReturnValue(slow.promise);
    await tick();
    edit(second.result.current.flow, 'edited');
    await act(async () => { slow.resolve({ problems }); });
    expect(second.result.current.flow.problems).toEqual([]);
  });

  it('starts an empty flow under its name, and says why a load failed', async () => {
    const { result } = setup({ name: 'Fresh', draft: null });
    await tick();
    expect(result.current.flow.name).toBe('Fresh');
    expect(result.current.flow.nodes).toEqual([]);

    const api = { nodeTypes: vi.fn().mockRejectedValue(new Error('HTTP 500')), getFlow: vi.fn().mockResolvedValue({}) };
    const wrapperRef = { current: null };
    const failed = render(() => useFlowLoader({ api, flow: useFlowDocument(), wrapperRef }));
    await tick();
    expect(failed.result.current).toMatchObject({ status: 'error', error: 'HTTP 500' });
  });
});

describe('useCanvasEditing', () => {
  function setup() {
    const openInspector = vi.fn();
    let rf;
    const wrapperRef = { current: null };
    const h = render(() => {
      const flow = useFlowDocument();
      return { flow, ...useCanvasEditing({ flow, rf, wrapperRef, typesByName: TYPES, openInspector }) };
    });
    rf = fakeRf(() => h.result.current.flow);
    h.rerender();
    load(h.result.current.flow);
    return { result: h.result, openInspector };
  }

  it('keeps one edge per output port', () => {
    const { result } = setup();
    act(() => result.current.onConnect({ source: 'start', sourceHandle: 'out', target: 'start' }));
    expect(result.current.flow.edges.map((e) => [e.source, e.target])).toEqual([['start', 'start']]);
    expect(result.current.flow.version).toBe(1);
    act(() => result.current.onConnect({ source: 'start', target: null }));
    expect(result.current.flow.version).toBe(1);
  });

  it('reconnects an edge dropped on a handle and removes one dropped elsewhere', () => {
    const { result } = setup();
    const edge = result.current.flow.edges[0];
    act(() => result.current.onReconnectStart());
    act(() => result.current.onReconnect(edge, { source: 'hello', sourceHandle: 'out', target: 'start' }));
    act(() => result.current.onReconnectEnd(null, edge));
    expect(result.current.flow.edges).toEqual([{ id: 'e1', source: 'hello', sourceHandle: 'out', target: 'start' }]);
    act(() => result.current.onReconnectStart());
    act(() => result.current.onReconnectEnd(null, edge));
    expect(result.current.flow.edges).toEqual([]);
    expect(result.current.flow.history.past).toHaveLength(2);
  });

  it('adds a node from the palette with its defaults, selected, in the inspector', () => {
    const { result, openInspector } = setup();
    act(() => result.current.addNode('message', { x: 10, y: 20 }));
    const added = result.current.flow.nodes[2];
    expect(added).toEqual({ id: 'message_1', type: 'message', position: { x: 10, y: 20 }, data: { text: '' }, selected: true });
    expect(result.current.flow.nodes.filter((n) => n.selected)).toHaveLength(1);
    expect(openInspector).toHaveBeenCalled();
    act(() => result.current.addNode('message'));
    const placed = result.current.flow.nodes[3];
    expect(placed.id).toBe('message_2');
    expect(placed.position).not.toEqual(added.position);
  });

  it('records a deletion once React Flow has reported it', async () => {
    const { result } = setup();
    act(() => result.current.onNodesChange([{ type: 'remove', id: 'hello' }]));
    act(() => result.current.onEdgesChange([{ type: 'remove', id: 'e1' }]));
    await tick(0);
    expect(result.current.flow.nodes.map((n) => n.id)).toEqual(['start']);
    expect(result.current.flow.history.past).toHaveLength(1);
    act(() => result.current.onNodesChange([{ type: 'select', id: 'start', selected: true }]));
    await tick(0);
    expect(result.current.flow.history.past).toHaveLength(1);
  });
});

describe('useLayout and useFlowActions', () => {
  function setup({ problems = [] } = {}) {
    const api = { publish: vi.fn().mockResolvedValue({ version: 3 }), getFlow: vi.fn(), validate: vi.fn().mockResolvedValue({ problems }), saveDraft: vi.fn().mockResolvedValue({ saved_at: 'now' }) };
    const notify = vi.fn();
    let rf;
    const wrapperRef = { current: null };
    const nodePorts = (n) => TYPES[n.type]?.ports || [];
    const h = render(() => {
      const flow = useFlowDocument();
      const saveNow = useDraftSync({ api, flow });
      const layout = useLayout({ flow, rf, wrapperRef, nodePorts });
      return { flow, ...layout, ...useFlowActions({ api, t, flow, saveNow, replaceDocument: layout.replaceDocument, notify }) };
    });
    rf = fakeRf(() => h.result.current.flow);
    h.rerender();
    load(h.result.current.flow);
    return { api, notify, rf, result: h.result };
  }

  it('lays the flow out as one step and fits the view', async () => {
    const { result, rf } = setup();
    act(() => result.current.flow.setNodes((ns) => ns.map((n) => ({ ...n, position: { x: 0, y: 0 } }))));
    act(() => result.current.layout());
    const [a, b] = result.current.flow.nodes.map((n) => n.position);
    expect(b.x).toBeGreaterThan(a.x);
    expect(result.current.flow.history.past).toHaveLength(1);
    await tick(30);
    expect(rf.fitView).toHaveBeenCalled();
  });

  it('publishes after saving pending changes, and not while there are errors', async () => {
    const { api, notify, result } = setup();
    edit(result.current.flow, 'A');
    await act(async () => { await result.current.publish(); });
    expect(api.saveDraft).toHaveBeenCalledTimes(1);
    expect(api.publish).toHaveBeenCalledTimes(1);
    expect(notify).toHaveBeenLastCalledWith('Published version 3', 'success');
    expect(result.current.publishing).toBe(false);

    act(() => result.current.flow.dispatch({ type: 'problems', problems: [{ node_id: 'hello', severity: 'error', message: 'x' }] }));
    await act(async () => { await result.current.publish(); });
    expect(api.publish).toHaveBeenCalledTimes(1);
    expect(notify).toHaveBeenLastCalledWith('Fix the errors before publishing', 'error');
  });

  it('shows the problems of a refused publish', async () => {
    const { api, notify, result } = setup();
    api.publish.mockRejectedValue(Object.assign(new Error('HTTP 422'), { body: { problems: [{ node_id: 'hello', severity: 'error', message: 'x' }] } }));
    await act(async () => { await result.current.publish(); });
    expect(result.current.flow.problems).toHaveLength(1);
    expect(notify).toHaveBeenLastCalledWith('Publish failed: HTTP 422', 'error');
  });

  it('imports a file as one undoable change, keeping the name when the file has none', async () => {
    const { notify, result } = setup();
    const file = { text: async () => JSON.stringify({ document: { nodes: [{ id: 'x', type: 'message', data: {} }], edges: [] } }) };
    await act(async () => { await result.current.importFile(file); });
    expect(result.current.flow.nodes.map((n) => n.id)).toEqual(['x']);
    expect(result.current.flow.name).toBe('Demo');
    expect(notify).toHaveBeenLastCalledWith('Imported 1 nodes', 'success');
    act(() => result.current.flow.undo());
    expect(result.current.flow.nodes).toHaveLength(2);
    await act(async () => { await result.current.importFile({ text: async () => '{"nope": 1}' }); });
    expect(notify).toHaveBeenLastCalledWith('Import failed: not a flow document (no "nodes" list)', 'error');
  });

  it('reloads the draft after a rollback, with its problems', async () => {
    const { api, result } = setup();
    const problems = [{ node_id: 'x', severity: 'warning', message: 'w' }];
    api.getFlow.mockResolvedValue({ draft: { name: 'Old', nodes: [{ id: 'x', type: 'message', position: { x: 5, y: 5 }, data: {} }], edges: [] }, problems });
    await act(async () => { await result.current.onRolledBack(); });
    expect(result.current.flow.nodes.map((n) => n.id)).toEqual(['x']);
    expect(result.current.flow.problems).toBe(problems);
    expect(result.current.flow.save.status).toBe('dirty');
  });
});
