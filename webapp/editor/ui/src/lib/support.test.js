import { describe, it, expect } from 'vitest';
import { createDecorationStore } from './decorations.js';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeT, readTranslations, MESSAGES } from '../i18n.js';
import { SHORTCUTS } from '../components/Extras.jsx';

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
  it('translates through the msgid and interpolates', () => {
    const t = makeT({ '{n} errors': 'Ошибок: {n}', Save: 'Сохранить' });
    expect(t('errors', { n: 2 })).toBe('Ошибок: 2');
    expect(t('save')).toBe('Сохранить');
  });
  it('falls back to the English msgid, and shows an unknown key as is', () => {
    expect(makeT({})('publish')).toBe('Publish');
    expect(makeT(undefined)('save')).toBe('Save');
    expect(makeT({ Publish: '' })('publish')).toBe('Publish');
    expect(makeT({ toString: 'x' })('no_such_key')).toBe('no_such_key');
    expect(makeT({})('no_such_key')).toBe('no_such_key');
  });
  it('reads the translations a mount element carries, English when unreadable', () => {
    expect(readTranslations('{"Save": "Сохранить"}')).toEqual({ Save: 'Сохранить' });
    expect(readTranslations(undefined)).toEqual({});
    expect(readTranslations('{broken')).toEqual({});
    expect(readTranslations('["Save"]')).toEqual({});
  });
  it('declares every key the components ask for', () => {
    const dir = fileURLToPath(new URL('..', import.meta.url));
    const used = new Set();
    for (const file of readdirSync(dir, { recursive: true })) {
      if (!/\.jsx?$/.test(file) || /\.test\./.test(file)) continue;
      for (const m of readFileSync(join(dir, file), 'utf8').matchAll(/\bt\('([a-z_]+)'/g)) used.add(m[1]);
    }
    for (const k of ['inspector', 'test', 'comment', 'check', 'versions']) used.add(`tab_${k}`);
    for (const [, k] of SHORTCUTS) used.add(k);
    expect(used.size).toBeGreaterThan(50);
    expect([...used].filter((k) => !(k in MESSAGES))).toEqual([]);
  });
  it('carries no translations of its own (messages.po is the one place; the page hands them over)', () => {
    const dir = fileURLToPath(new URL('..', import.meta.url));
    const cyrillic = readdirSync(dir, { recursive: true })
      .filter((file) => /\.jsx?$/.test(file) && !/\.test\./.test(file))
      .filter((file) => /[\u0400-\u04FF]/.test(readFileSync(join(dir, file), 'utf8')));
    expect(cyrillic).toEqual([]);
  });
});
