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
    expect(makeT('en')('no_such_key')).toBe('no_such_key');
  });
});
