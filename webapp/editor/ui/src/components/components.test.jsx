// @vitest-environment happy-dom
// Render checks for the generated UI: the inspector's controls per field kind (with their test hooks) and
// the generic node card (ports, badges). Pure logic is covered in src/lib/*.test.js.
import { describe, it, expect, afterEach } from 'vitest';
import { act } from 'react';
import { createRoot } from 'react-dom/client';
import { ReactFlowProvider } from '@xyflow/react';
import Inspector from './Inspector.jsx';
import FlowNode from './FlowNode.jsx';
import { EditorContext } from '../context.js';
import { createDecorationStore } from '../lib/decorations.js';
import { makeT } from '../i18n.js';

globalThis.IS_REACT_ACT_ENVIRONMENT = true;
const t = makeT('en');
let container;
let root;

function render(ui) {
  container = document.createElement('div');
  document.body.appendChild(container);
  root = createRoot(container);
  act(() => root.render(ui));
  return container;
}
afterEach(() => {
  act(() => root.unmount());
  container.remove();
});
const $ = (id) => container.querySelector(`[data-testid="${id}"]`);

function type(el, value) {
  const proto = el.tagName === 'TEXTAREA' ? HTMLTextAreaElement.prototype : el.tagName === 'SELECT' ? HTMLSelectElement.prototype : HTMLInputElement.prototype;
  Object.getOwnPropertyDescriptor(proto, 'value').set.call(el, value);
  act(() => el.dispatchEvent(new Event(el.tagName === 'SELECT' ? 'change' : 'input', { bubbles: true })));
}

const META = {
  type: 'ask', label: 'Ask', description: 'Ask a question', ports: ['ok', 'failed'], waits: true,
  fields: [
    { name: 'text', label: 'Question', kind: 'textarea', required: true },
    { name: 'variable', label: 'Save as', kind: 'text', required: true },
    { name: 'validate', label: 'Validate', kind: 'select', choices: ['text', 'phone'] },
    { name: 'channels', label: 'Channels', kind: 'multiselect', choices: ['instagram', 'telegram'] },
    { name: 'max_retries', label: 'Retries', kind: 'number' },
    { name: 'strict', label: 'Strict', kind: 'bool' },
    { name: 'choices', label: 'Choices', kind: 'list' },
    { name: 'headers', label: 'Headers', kind: 'keyvalue' },
    { name: 'body', label: 'Body', kind: 'json' },
    { name: 'rules', label: 'Rules', kind: 'json', item_fields: [{ name: 'id', kind: 'text' }, { name: 'value', kind: 'text' }] },
  ],
};
const NODE = {
  id: 'ask_1', type: 'ask', position: { x: 0, y: 0 },
  data: { text: 'Your phone?', variable: 'phone', validate: 'phone', channels: ['telegram'], max_retries: 2, strict: true,
    choices: ['a', 'b'], headers: { 'X-Key': '1' }, body: { a: 1 }, rules: [{ id: 'yes', value: 'y' }] },
};

describe('Inspector', () => {
  it('renders one control per field kind with field-<name> hooks and the current values', () => {
    render(<Inspector node={NODE} meta={META} selectedCount={1} problems={[]} onChange={() => {}} onReplaceData={() => {}} onDelete={() => {}} t={t} />);
    expect($('inspector-node-id').textContent).toBe('ask_1');
    expect($('field-text').value).toBe('Your phone?');
    expect($('field-variable').value).toBe('phone');
    expect($('field-validate').value).toBe('phone');
    expect($('field-channels-telegram').checked).toBe(true);
    expect($('field-channels-instagram').checked).toBe(false);
    expect($('field-max_retries').value).toBe('2');
    expect($('field-strict').checked).toBe(true);
    expect($('field-choices').value).toBe('a\nb');
    expect($('field-headers-key-0').value).toBe('X-Key');
    expect(JSON.parse($('field-body').value)).toEqual({ a: 1 });
    expect($('field-rules-0-id').value).toBe('yes');
  });

  it('reports edits as typed values', () => {
    const calls = [];
    render(<Inspector node={NODE} meta={META} selectedCount={1} problems={[]} onChange={(n, v) => calls.push([n, v])} onReplaceData={() => {}} onDelete={() => {}} t={t} />);
    type($('field-variable'), 'tel');
    type($('field-max_retries'), '5');
    type($('field-choices'), 'x\n\ny');
    type($('field-body'), '{"b": 2}');
    type($('field-body'), '{broken');
    type($('field-rules-0-value'), 'n');
    expect(calls).toEqual([
      ['variable', 'tel'], ['max_retries', 5], ['choices', ['x', 'y']], ['body', { b: 2 }],
      ['rules', [{ id: 'yes', value: 'n' }]],
    ]);
    expect(container.textContent).toContain('Invalid JSON');
  });

  it('says what to do without a single selection', () => {
    render(<Inspector node={null} meta={null} selectedCount={3} problems={[]} onChange={() => {}} onReplaceData={() => {}} onDelete={() => {}} t={t} />);
    expect($('inspector').textContent).toBe('3 nodes selected');
    expect($('flow-settings')).toBeNull();
  });

  it('with nothing selected edits the flow settings: restart_after_minutes, empty for never', () => {
    const calls = [];
    render(<Inspector node={null} meta={null} selectedCount={0} problems={[]} onChange={() => {}} onReplaceData={() => {}}
      onDelete={() => {}} flowMeta={{ name: 'Leads', restart_after_minutes: 1440 }}
      onMetaChange={(k, v) => calls.push([k, v])} t={t} />);
    expect($('flow-settings').textContent).toContain('Start again after (minutes)');
    expect($('flow-restart-after').value).toBe('1440');
    type($('flow-restart-after'), '60');
    type($('flow-restart-after'), '');
    expect(calls).toEqual([['restart_after_minutes', 60], ['restart_after_minutes', null]]);
  });
});

describe('FlowNode', () => {
  it('draws one labelled source handle per port, a target handle, and problem badges', () => {
    const decorations = createDecorationStore();
    const ctx = { typesByName: { ask: META }, t, decorations };
    render(
      <ReactFlowProvider>
        <EditorContext.Provider value={ctx}>
          <FlowNode id="ask_1" type="ask" data={NODE.data} selected={false} />
        </EditorContext.Provider>
      </ReactFlowProvider>,
    );
    const labels = [...container.querySelectorAll('.fe-port-label')].map((e) => e.textContent);
    expect(labels).toEqual(['ok', 'failed']);
    expect([...container.querySelectorAll('.react-flow__handle.source')].map((h) => h.dataset.handleid)).toEqual(['ok', 'failed']);
    expect(container.querySelectorAll('.react-flow__handle.target')).toHaveLength(1);
    expect(container.querySelector('.fe-node-summary').textContent).toBe('Your phone?');
    expect($('node-badge-error')).toBeNull();
    act(() => decorations.setProblems({ ask_1: { errors: 2, warnings: 1, messages: ['x'] } }));
    expect($('node-badge-error').textContent).toBe('2');
    expect($('node-badge-warning').textContent).toBe('1');
  });
});
