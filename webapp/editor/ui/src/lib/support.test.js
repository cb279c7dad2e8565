import { describe, it, expect } from 'vitest';
import { createDecorationStore } from './decorations.js';
import { makeT, DICTS } from '../i18n.js';

describe('decoration store', () => {
  it('combines problem, trace and diff layers per node', () => {
    const s = createDecorationStore();
    s.setProblems({ a: { errors: 1, warnings: 0, messages: ['bad'] } });
    s.setTrace(['a', 'b']);
    s.setDiff({ b: 'added' });
    expect(s.get('a')).toMatchObject({ errors: 1, trace: true, diff: null });
    expect(s.get('b')).toMatchObject({ errors: 0, trace: true, diff: 'added' });
    expect(s.get('zzz')).toMatchObject({ errors: 0, warnings: 0, trace: false });
  });

  it('keeps object identity for nodes whose decoration did not change (no re-render)', () => {
    const s = createDecorationStore();
    s.setProblems({ a: { errors: 1, warnings: 0, messages: ['x'] }, b: { errors: 0, warnings: 1, messages: ['y'] } });
    const a1 = s.get('a');
    const b1 = s.get('b');
    let calls = 0;
    const off = s.subscribe(() => { calls += 1; });
    s.setProblems({ a: { errors: 1, warnings: 0, messages: ['x'] }, b: { errors: 0, warnings: 2, messages: ['y', 'z'] } });
    expect(s.get('a')).toBe(a1);
    expect(s.get('b')).not.toBe(b1);
    expect(calls).toBe(1);
    off();
    s.setTrace([]);
    expect(calls).toBe(1);
  });
});

describe('i18n', () => {
  it('has a Russian entry for every English key', () => {
    const missing = Object.keys(DICTS.en).filter((k) => !(k in DICTS.ru));
    expect(missing).toEqual([]);
  });
  it('interpolates and falls back to English', () => {
    expect(makeT('ru')('errors', { n: 2 })).toBe('Ошибок: 2');
    expect(makeT('xx')('save')).toBe('Save');
    expect(makeT('ru_RU')('save')).toBe('Сохранить');
    expect(makeT(undefined)('save')).toBe('Save');
    expect(makeT('en')('no_such_key')).toBe('no_such_key');
  });
});

describe('keyboard shortcuts', async () => {
  const { actionFor, isTyping } = await import('./shortcuts.js');
  const k = (key, mods = {}) => actionFor({ key, ...mods });
  it('maps the documented keys', () => {
    expect(k('z', { ctrlKey: true })).toBe('undo');
    expect(k('Z', { ctrlKey: true, shiftKey: true })).toBe('redo');
    expect(k('y', { metaKey: true })).toBe('redo');
    expect(k('c', { ctrlKey: true })).toBe('copy');
    expect(k('v', { ctrlKey: true })).toBe('paste');
    expect(k('d', { ctrlKey: true })).toBe('duplicate');
    expect(k('a', { ctrlKey: true })).toBe('selectAll');
    expect(k('s', { ctrlKey: true })).toBe('save');
    expect(k('L', { shiftKey: true })).toBe('layout');
    expect(k('?', { shiftKey: true })).toBe('help');
    expect(k('z')).toBe(null);
    expect(k('Delete')).toBe(null); // React Flow's deleteKeyCode handles it
  });
  it('knows text fields', () => {
    expect(isTyping({ tagName: 'INPUT' })).toBe(true);
    expect(isTyping({ tagName: 'DIV', isContentEditable: true })).toBe(true);
    expect(isTyping({ tagName: 'DIV' })).toBe(false);
    expect(isTyping(null)).toBe(false);
  });
});

describe('viewport', async () => {
  const { fitOptions } = await import('./viewport.js');
  const node = (id, x, y, type = 'message') => ({ id, type, position: { x, y } });
  it('fits a small flow whole', () => {
    const o = fitOptions([node('a', 0, 0, 'trigger'), node('b', 300, 0)], false, { width: 800, height: 600 });
    expect(o.nodes).toBeUndefined();
  });
  it('opens a long flow on the nodes around its trigger', () => {
    const ns = [node('t', 0, 0, 'trigger'), ...Array.from({ length: 30 }, (_, i) => node(`n${i}`, 300 * (i + 1), 0))];
    const o = fitOptions(ns, false, { width: 800, height: 600 });
    const ids = o.nodes.map((n) => n.id);
    expect(ids[0]).toBe('t');
    expect(ids.length).toBeGreaterThan(1);
    expect(ids.length).toBeLessThan(10);
  });
});
