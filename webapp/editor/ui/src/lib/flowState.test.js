import { describe, it, expect } from 'vitest';
import { flowReducer, initialFlowState } from './flowState.js';
import { documentToFlow } from './document.js';

const DOC = {
  schema_version: 1, name: 'Demo', extra: { keep: true },
  nodes: [
    { id: 'start', type: 'trigger', position: { x: 0, y: 0 }, data: {} },
    { id: 'hello', type: 'message', position: { x: 300, y: 0 }, data: { text: 'Hi' } },
  ],
  edges: [{ id: 'e1', source: 'start', sourceHandle: 'out', target: 'hello' }],
};

const run = (state, ...actions) => actions.reduce(flowReducer, state);
const loaded = () => run(initialFlowState, { type: 'loaded', ...documentToFlow(DOC), problems: [] });
const setText = (text) => ({ type: 'nodes', update: (ns) => ns.map((n) => (n.id === 'hello' ? { ...n, data: { text } } : n)) });

describe('flow state', () => {
  it('opens with a fresh history and no change', () => {
    const s = loaded();
    expect(s.version).toBe(0);
    expect(s.save.status).toBe('saved');
    expect(s.history.past).toEqual([]);
    expect(s.history.present.nodes.map((n) => n.id)).toEqual(['start', 'hello']);
    expect(s.history.present.meta).toMatchObject({ name: 'Demo', extra: { keep: true } });
  });

  it('records a step per commit, coalescing a key, and marks the document changed', () => {
    let s = run(loaded(), setText('H'), { type: 'commit', key: 'field:hello:text' });
    s = run(s, setText('He'), { type: 'commit', key: 'field:hello:text' });
    expect(s.version).toBe(2);
    expect(s.save.status).toBe('dirty');
    expect(s.history.past).toHaveLength(1);
    expect(s.history.present.nodes[1].data.text).toBe('He');
  });

  it('changes the canvas without a history step until a commit', () => {
    const s = run(loaded(), { type: 'nodes', update: (ns) => ns.map((n) => ({ ...n, selected: true })) });
    expect(s.nodes.every((n) => n.selected)).toBe(true);
    expect(s.version).toBe(0);
    expect(s.history.past).toEqual([]);
  });

  it('undoes and redoes, reusing unchanged nodes and keeping the selection', () => {
    const before = run(loaded(), { type: 'nodes', update: (ns) => ns.map((n) => (n.id === 'start' ? { ...n, selected: true } : n)) });
    const edited = run(before, setText('Bye'), { type: 'commit' });
    const undone = run(edited, { type: 'undo' });
    expect(undone.nodes[0]).toBe(edited.nodes[0]);
    expect(undone.nodes[0].selected).toBe(true);
    expect(undone.nodes[1].data.text).toBe('Hi');
    expect(undone.version).toBe(2);
    expect(undone.save.status).toBe('dirty');
    const redone = run(undone, { type: 'redo' });
    expect(redone.nodes[1].data.text).toBe('Bye');
    expect(run(redone, { type: 'redo' })).toBe(redone);
    expect(run(loaded(), { type: 'undo' }).version).toBe(0);
  });

  it('renames as one undo step however many keystrokes', () => {
    const s = run(loaded(), { type: 'renamed', name: 'D' }, { type: 'renamed', name: 'Do' });
    expect(s.meta).toMatchObject({ name: 'Do', extra: { keep: true } });
    expect(s.history.past).toHaveLength(1);
    expect(run(s, { type: 'undo' }).meta.name).toBe('Demo');
  });

  it('sets and clears a flow setting as one undo step, keeping the other keys', () => {
    const s = run(loaded(), { type: 'metaSet', key: 'restart_after_minutes', value: 6 },
      { type: 'metaSet', key: 'restart_after_minutes', value: 60 });
    expect(s.meta).toMatchObject({ name: 'Demo', restart_after_minutes: 60, extra: { keep: true } });
    expect(s.history.past).toHaveLength(1);
    expect(s.save.status).toBe('dirty');
    const cleared = run(s, { type: 'metaSet', key: 'restart_after_minutes', value: null });
    expect('restart_after_minutes' in cleared.meta).toBe(false);
    expect(run(s, { type: 'undo' }).meta.restart_after_minutes).toBeUndefined();
  });

  it('pastes with fresh ids, selected instead of what was, as one step', () => {
    const clip = { nodes: [DOC.nodes[1]], edges: [] };
    const s = run(loaded(), { type: 'nodes', update: (ns) => ns.map((n) => ({ ...n, selected: true })) }, { type: 'pasted', clip });
    expect(s.nodes.map((n) => [n.id, !!n.selected])).toEqual([['start', false], ['hello', false], ['message_1', true]]);
    expect(s.nodes[2].position).toEqual({ x: 340, y: 40 });
    expect(s.history.past).toHaveLength(1);
  });

  it('replaces the document as one undoable change, with the problems given', () => {
    const other = documentToFlow({ name: 'Other', nodes: [{ id: 'x', type: 'message', position: { x: 1, y: 1 }, data: {} }] });
    const problems = [{ node_id: 'x', severity: 'error', message: 'Text is required' }];
    const s = run(loaded(), { type: 'replaced', ...other, problems });
    expect(s.nodes.map((n) => n.id)).toEqual(['x']);
    expect(s.meta.name).toBe('Other');
    expect(s.problems).toBe(problems);
    expect(s.version).toBe(1);
    expect(run(s, { type: 'undo' }).nodes.map((n) => n.id)).toEqual(['start', 'hello']);
    expect(run(loaded(), { type: 'replaced', ...other }).problems).toEqual([]);
  });

  it('is saved only when the answer is about the current version', () => {
    const problems = [{ node_id: 'hello', severity: 'warning', message: 'w' }];
    const s = run(loaded(), setText('A'), { type: 'commit' }, { type: 'saveStarted' });
    expect(s.save.status).toBe('saving');
    const done = run(s, { type: 'saveDone', version: 1, at: 'now', problems });
    expect(done.save).toEqual({ status: 'saved', at: 'now' });
    expect(done.problems).toBe(problems);
    const later = run(s, setText('B'), { type: 'commit' }, { type: 'saveDone', version: 1, at: 'now', problems });
    expect(later.save.status).toBe('dirty');
    expect(later.problems).toEqual([]);
  });

  it('reports a failed save with the problems the server gave', () => {
    const problems = [{ node_id: null, severity: 'error', message: 'bad' }];
    const s = run(loaded(), { type: 'saveStarted' }, { type: 'saveFailed', error: 'HTTP 500', problems });
    expect(s.save).toEqual({ status: 'error', error: 'HTTP 500' });
    expect(s.problems).toBe(problems);
    expect(run(s, { type: 'commit' }).save.status).toBe('dirty');
  });

  it('drops problems about an older version, keeps unversioned ones', () => {
    const s = run(loaded(), { type: 'commit' });
    const p = [{ node_id: 'hello', severity: 'error', message: 'x' }];
    expect(run(s, { type: 'problems', problems: p, version: 0 }).problems).toEqual([]);
    expect(run(s, { type: 'problems', problems: p, version: 1 }).problems).toBe(p);
    expect(run(s, { type: 'problems', problems: p }).problems).toBe(p);
  });

  it('refuses an unknown action', () => {
    expect(() => flowReducer(initialFlowState, { type: 'nope' })).toThrow(/unknown flow action/);
  });
});
