import { memo, useEffect, useMemo } from 'react';
import { Handle, Position, useUpdateNodeInternals } from '@xyflow/react';
import { useEditor, useDecoration } from '../context.js';
import { summarise } from '../lib/fields.js';
import { portsOf } from '../lib/ports.js';

const CATEGORY_COLORS = {
  trigger: '#7c3aed', start: '#7c3aed', message: '#2563eb', messages: '#2563eb', input: '#0891b2',
  logic: '#d97706', ai: '#db2777', llm: '#db2777', action: '#059669', actions: '#059669',
  integration: '#4f46e5', integrations: '#4f46e5', crm: '#16a34a',
};

export function colorFor(category) {
  const key = String(category || '').toLowerCase();
  if (CATEGORY_COLORS[key]) return CATEGORY_COLORS[key];
  let h = 0;
  for (const ch of key) h = (h * 31 + ch.charCodeAt(0)) % 360;
  return `hsl(${h} 55% 45%)`;
}

/** One generic card for every node type: header, data summary, ports from the type's declaration. */
function FlowNode({ id, type, data, selected }) {
  const { typesByName, t } = useEditor();
  const meta = typesByName[type];
  const deco = useDecoration(id);
  const summary = useMemo(() => summarise(data, meta), [data, meta]);
  const ports = useMemo(() => portsOf({ data }, meta), [data, meta]);
  const portsKey = ports.join('\u0000');
  const updateNodeInternals = useUpdateNodeInternals();
  const firstPorts = useMemo(() => portsKey, []); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    // Handles changed (a condition rule added/renamed): React Flow must re-measure this node.
    if (portsKey !== firstPorts) updateNodeInternals(id);
  }, [portsKey, firstPorts, id, updateNodeInternals]);
  const isTrigger = type === 'trigger' || meta?.category === 'trigger';
  const color = colorFor(meta?.category || type);

  const cls = ['fe-node'];
  if (selected) cls.push('is-selected');
  if (deco.errors) cls.push('has-error');
  else if (deco.warnings) cls.push('has-warning');
  if (deco.trace) cls.push('is-trace');
  if (deco.diff) cls.push(`diff-${deco.diff}`);
  if (!meta) cls.push('is-unknown');

  return (
    <div className={cls.join(' ')} style={{ '--fe-accent': color }} title={deco.messages.join('\n') || undefined}>
      {!isTrigger && <Handle type="target" position={Position.Left} className="fe-handle fe-handle-in" />}
      <div className="fe-node-head">
        <span className="fe-node-dot" />
        <span className="fe-node-label">{meta?.label || type}</span>
        {meta?.waits && <span className="fe-node-wait" title={t('waits_hint')}>{t('waits')}</span>}
        <span className="fe-node-badges">
          {deco.errors > 0 && (
            <span className="fe-badge fe-badge-error" data-testid="node-badge-error">{deco.errors}</span>
          )}
          {deco.warnings > 0 && (
            <span className="fe-badge fe-badge-warning" data-testid="node-badge-warning">{deco.warnings}</span>
          )}
        </span>
      </div>
      <div className="fe-node-id">{id}</div>
      {summary && <div className="fe-node-summary">{summary}</div>}
      {deco.diff && <div className={`fe-node-diff fe-node-diff-${deco.diff}`}>{t(deco.diff === 'added' ? 'added' : 'changed_nodes')}</div>}
      {ports.length > 0 && (
        <div className="fe-node-ports">
          {ports.map((p) => (
            <div className="fe-port" key={p}>
              <span className="fe-port-label">{p}</span>
              <Handle type="source" position={Position.Right} id={p} className="fe-handle fe-handle-out" />
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

export default memo(FlowNode);
