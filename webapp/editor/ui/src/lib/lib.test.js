import { describe, it, expect } from 'vitest';
import { documentToFlow, flowToDocument, needsLayout, extractDocument } from './document.js';
import { createHistory, record, undo, redo, canUndo, canRedo } from './history.js';
import { copySelection, pasteClipboard } from './clipboard.js';
import { autoLayout } from './layout.js';
import { problemsByNode, hasErrors, countBySeverity, sortProblems } from './problems.js';
import { buildForm, controlFor, toFormValue, fromFormValue, defaultData, summarise } from './fields.js';
import { uniqueId } from './ids.js';

const DOC = {
  schema_version: 1,
  name: 'Lead capture',
  settings: { locale: 'en', nested: [1, 2] },
  x_custom: 'keep me',
  nodes: [
    { id: 'start', type: 'trigger', position: { x: 0, y: 0 }, data: { channels: ['any'] } },
    { id: 'ask_phone', type: 'ask', position: { x: 240, y: 0 }, data: { text: 'Your phone?', variable: 'phone' } },
  ],
  edges: [{ id: 'e1', source: 'start', sourceHandle: 'out', target: 'ask_phone' }],
};

describe('document mapping', () => {
  it('round-trips exactly, unknown top-level keys included', () => {
    const { nodes, edges, meta } = documentToFlow(DOC);
    expect(flowToDocument(nodes, edges, meta)).toEqual(DOC);
  });

  it('drops React Flow-only keys on save', () => {
    const { nodes, edges, meta } = documentToFlow(DOC);
    const rfNodes = nodes.map((n) => ({ ...n, selected: true, dragging: false, measured: { width: 1, height: 2 } }));
    const rfEdges = edges.map((e) => ({ ...e, selected: true, animated: true, className: 'x', targetHandle: null }));
    const doc = flowToDocument(rfNodes, rfEdges, meta);
    expect(doc.nodes[0]).toEqual(DOC.nodes[0]);
    expect(Object.keys(doc.edges[0]).sort()).toEqual(['id', 'source', 'sourceHandle', 'target']);
  });

  it('fills defaults for sparse documents and rounds positions', () => {
    const { nodes, meta } = documentToFlow({ nodes: [{ id: 'a', type: 'message' }] });
    expect(nodes[0].position).toEqual({ x: 0, y: 0 });
    expect(nodes[0].data).toEqual({});
    expect(meta.schema_version).toBe(1);
    const doc = flowToDocument([{ ...nodes[0], position: { x: 10.6, y: -3.2 } }], [], meta);
    expect(doc.nodes[0].position).toEqual({ x: 11, y: -3 });
  });

  it('finds the document in an import file (bare, template, API answer)', () => {
    expect(extractDocument(DOC)).toBe(DOC);
    const inner = { nodes: [], edges: [] };
    expect(extractDocument({ key: 'faq', name: 'FAQ bot', document: inner })).toEqual({ ...inner, name: 'FAQ bot' });
    expect(extractDocument({ id: 3, draft: DOC })).toBe(DOC);
    expect(extractDocument({ nodes: 'x' })).toBe(null);
    expect(extractDocument(null)).toBe(null);
  });

  it('knows when an imported flow needs a layout', () => {
    expect(needsLayout(DOC.nodes)).toBe(false);
    expect(needsLayout([{ id: 'a' }, { id: 'b' }])).toBe(true);
    expect(needsLayout([{ id: 'a', position: { x: 0, y: 0 } }, { id: 'b', position: { x: 0, y: 0 } }])).toBe(true);
    expect(needsLayout([])).toBe(false);
  });
});

describe('history', () => {
  it('undoes and redoes', () => {
    let h = createHistory('a');
    h = record(h, 'b');
    h = record(h, 'c');
    expect(h.present).toBe('c');
    h = undo(h);
    expect(h.present).toBe('b');
    h = undo(h);
    expect(h.present).toBe('a');
    expect(canUndo(h)).toBe(false);
    expect(undo(h)).toBe(h);
    h = redo(h);
    expect(h.present).toBe('b');
    expect(canRedo(h)).toBe(true);
  });

  it('a new change clears the redo stack', () => {
    let h = record(record(createHistory(1), 2), 3);
    h = undo(h);
    h = record(h, 4);
    expect(canRedo(h)).toBe(false);
    expect(h.past).toEqual([1, 2]);
  });

  it('coalesces edits with the same key into one step', () => {
    let h = createHistory('');
    h = record(h, 'h', 'field:text');
    h = record(h, 'he', 'field:text');
    h = record(h, 'hey', 'field:text');
    expect(h.past).toEqual(['']);
    h = undo(h);
    expect(h.present).toBe('');
  });

  it('caps the stack', () => {
    let h = createHistory(0);
    for (let i = 1; i <= 10; i += 1) h = record(h, i, null, 5);
    expect(h.past).toEqual([5, 6, 7, 8, 9]);
  });
});

describe('copy / paste', () => {
  const nodes = [
    { id: 'ask_1', type: 'ask', position: { x: 0, y: 0 }, data: { text: 'hi' }, selected: true },
    { id: 'message_1', type: 'message', position: { x: 100, y: 0 }, data: { text: 'yo' }, selected: true },
    { id: 'other', type: 'message', position: { x: 0, y: 100 }, data: {}, selected: false },
  ];
  const edges = [
    { id: 'e1', source: 'ask_1', sourceHandle: 'out', target: 'message_1' },
    { id: 'e2', source: 'message_1', sourceHandle: 'out', target: 'other' },
  ];

  it('copies selected nodes and only the edges between them', () => {
    const clip = copySelection(nodes, edges);
    expect(clip.nodes.map((n) => n.id)).toEqual(['ask_1', 'message_1']);
    expect(clip.edges.map((e) => e.id)).toEqual(['e1']);
  });

  it('remaps ids, rewires edges and offsets positions', () => {
    const clip = copySelection(nodes, edges);
    const out = pasteClipboard(clip, nodes, edges);
    const ids = out.nodes.map((n) => n.id);
    expect(ids).toEqual(['ask_2', 'message_2']);
    for (const id of ids) expect(nodes.some((n) => n.id === id)).toBe(false);
    expect(out.edges).toHaveLength(1);
    expect(out.edges[0]).toMatchObject({ source: 'ask_2', target: 'message_2', sourceHandle: 'out' });
    expect(['e1', 'e2']).not.toContain(out.edges[0].id);
    expect(out.nodes[0].position).toEqual({ x: 40, y: 40 });
    expect(out.nodes.every((n) => n.selected)).toBe(true);
    // data is a deep copy
    out.nodes[0].data.text = 'changed';
    expect(clip.nodes[0].data.text).toBe('hi');
  });

  it('pasting twice never collides', () => {
    const clip = copySelection(nodes, edges);
    const first = pasteClipboard(clip, nodes, edges);
    const all = [...nodes, ...first.nodes];
    const second = pasteClipboard(clip, all, [...edges, ...first.edges]);
    const ids = [...all, ...second.nodes].map((n) => n.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('uniqueId skips taken ids', () => {
    expect(uniqueId('ask', ['ask_1', 'ask_2'])).toBe('ask_3');
  });
});

describe('auto-layout', () => {
  it('assigns distinct positions, left to right along edges', () => {
    const ns = ['a', 'b', 'c', 'd'].map((id) => ({ id, type: 'message', position: { x: 0, y: 0 }, data: {} }));
    const es = [
      { id: 'e1', source: 'a', target: 'b' },
      { id: 'e2', source: 'b', target: 'c' },
      { id: 'e3', source: 'b', target: 'd' },
    ];
    const out = autoLayout(ns, es, { portsOf: () => ['out'] });
    const pos = Object.fromEntries(out.map((n) => [n.id, n.position]));
    expect(pos.a.x).toBeLessThan(pos.b.x);
    expect(pos.b.x).toBeLessThan(pos.c.x);
    expect(pos.c.x).toBe(pos.d.x);
    expect(pos.c.y).not.toBe(pos.d.y);
    expect(out[0].data).toBe(ns[0].data);
    const keys = new Set(out.map((n) => `${n.position.x},${n.position.y}`));
    expect(keys.size).toBe(4);
  });

  it('handles an empty flow and dangling edges', () => {
    expect(autoLayout([], [])).toEqual([]);
    const out = autoLayout([{ id: 'a', position: { x: 0, y: 0 } }], [{ id: 'x', source: 'a', target: 'zz' }]);
    expect(out).toHaveLength(1);
  });
});

describe('problems', () => {
  const problems = [
    { node_id: 'a', severity: 'warning', code: 'unreachable', message: 'Never reached' },
    { node_id: 'a', severity: 'error', code: 'missing', message: 'Text is required' },
    { node_id: 'b', severity: 'warning', code: 'w', message: 'W' },
    { node_id: null, severity: 'error', code: 'no_trigger', message: 'No trigger' },
  ];

  it('maps problems to node badges', () => {
    const { byNode, general } = problemsByNode(problems);
    expect(byNode.a).toEqual({ errors: 1, warnings: 1, messages: ['Never reached', 'Text is required'] });
    expect(byNode.b.errors).toBe(0);
    expect(byNode.b.warnings).toBe(1);
    expect(general).toHaveLength(1);
  });

  it('detects errors and sorts errors first', () => {
    expect(hasErrors(problems)).toBe(true);
    expect(hasErrors(problems.filter((p) => p.severity === 'warning'))).toBe(false);
    expect(countBySeverity(problems)).toEqual({ errors: 2, warnings: 2 });
    expect(sortProblems(problems).map((p) => p.severity)).toEqual(['error', 'error', 'warning', 'warning']);
  });
});

describe('inspector fields', () => {
  const meta = {
    type: 'ask',
    fields: [
      { name: 'text', kind: 'textarea', required: true },
      { name: 'variable', kind: 'text', required: true, default: 'answer' },
      { name: 'validate', kind: 'select', choices: ['none', 'phone', 'email'], required: true },
      { name: 'channels', kind: 'multiselect', choices: [{ value: 'ig', label: 'Instagram' }] },
      { name: 'retries', kind: 'number', default: 2 },
      { name: 'strict', kind: 'bool' },
      { name: 'keywords', kind: 'list' },
      { name: 'headers', kind: 'keyvalue' },
      { name: 'extra', kind: 'json' },
      { name: 'weird', kind: 'something-new' },
    ],
  };

  it('generates one control per field kind with test ids', () => {
    const form = buildForm(meta);
    expect(form.map((f) => f.control)).toEqual([
      'textarea', 'input', 'select', 'checkboxes', 'input', 'checkbox', 'lines', 'pairs', 'code', 'code',
    ]);
    expect(form[0].testId).toBe('field-text');
    expect(form[4].inputType).toBe('number');
    expect(form[3].choices).toEqual([{ value: 'ig', label: 'Instagram' }]);
    expect(controlFor({ name: 'x', kind: 'select', choices: [['a', 'A']] }).choices).toEqual([{ value: 'a', label: 'A' }]);
  });

  it('converts values both ways per kind', () => {
    const cases = [
      ['text', 'hi'],
      ['textarea', 'a\nb'],
      ['select', 'phone'],
      ['multiselect', ['a', 'b']],
      ['number', 3.5],
      ['bool', true],
      ['list', ['one', 'two']],
      ['keyvalue', { a: '1', b: '2' }],
      ['json', { deep: [1, { x: null }] }],
    ];
    for (const [kind, value] of cases) {
      expect(fromFormValue(kind, toFormValue(kind, value))).toEqual({ value });
    }
    expect(fromFormValue('number', '')).toEqual({ value: null });
    expect(fromFormValue('number', 'abc').error).toBeTruthy();
    expect(fromFormValue('json', '{bad').error).toBeTruthy();
    expect(fromFormValue('list', ' a \n\n b ')).toEqual({ value: ['a', 'b'] });
    expect(fromFormValue('keyvalue', [['k', 'v'], ['', 'ignored']])).toEqual({ value: { k: 'v' } });
  });

  it('builds default data for a new node', () => {
    expect(defaultData(meta)).toEqual({ text: '', variable: 'answer', validate: 'none', retries: 2 });
  });

  it('summarises data for the node card', () => {
    expect(summarise({ variable: 'phone', text: 'Your phone?' }, meta)).toBe('Your phone?');
    expect(summarise({ keywords: ['a', 'b'] }, meta)).toBe('a, b');
    expect(summarise({}, meta)).toBe('');
  });
});

describe('ports', async () => {
  const { portsOf } = await import('./ports.js');
  it('uses static ports, unknown types get one "out"', () => {
    expect(portsOf({ data: {} }, { ports: ['ok', 'failed'] })).toEqual(['ok', 'failed']);
    expect(portsOf({ data: {} }, { ports: [] })).toEqual([]);
    expect(portsOf({ data: {} }, undefined)).toEqual(['out']);
  });
  it('adds dynamic ports from data (condition rules) before the static ones', () => {
    const meta = { ports: ['else'], dynamic_ports: { field: 'rules', key: 'id' } };
    const node = { data: { rules: [{ id: 'yes' }, { id: 'no' }, { kind: 'x' }, { id: 'yes' }] } };
    expect(portsOf(node, meta)).toEqual(['yes', 'no', 'else']);
    expect(portsOf({ data: { rules: 'broken' } }, meta)).toEqual(['else']);
  });
});

describe('item fields', async () => {
  const { controlFor: cf, newItem } = await import('./fields.js');
  const rules = {
    name: 'rules', kind: 'json', default: [{ id: 'yes' }],
    item_fields: [{ name: 'id', kind: 'text', required: true }, { name: 'op', kind: 'select', choices: ['equals'], default: 'equals' }],
  };
  it('a json field with item_fields becomes a repeatable sub-form', () => {
    const spec = cf(rules);
    expect(spec.control).toBe('items');
    expect(spec.items.map((s) => s.control)).toEqual(['input', 'select']);
    expect(cf({ name: 'x', kind: 'json' }).control).toBe('code');
  });
  it('new items get defaults and a unique id', () => {
    const spec = cf(rules);
    expect(newItem(spec, [{ id: 'yes' }])).toEqual({ id: 'rule_2', op: 'equals' });
    expect(newItem(spec, [{ id: 'rule_2' }]).id).toBe('rule_3');
  });
});

describe('placement', async () => {
  const { freeSpot } = await import('./placement.js');
  it('keeps a free point and moves off occupied ones', () => {
    expect(freeSpot({ x: 0, y: 0 }, [])).toEqual({ x: 0, y: 0 });
    const nodes = [{ id: 'a', position: { x: 0, y: 0 }, measured: { width: 240, height: 100 } }];
    const p = freeSpot({ x: 10, y: 10 }, nodes);
    expect(p.y >= 100 || p.x >= 240).toBe(true);
  });
});
