import { memo, useMemo, useState } from 'react';
import { colorFor } from './FlowNode.jsx';

export const DND_MIME = 'application/x-temoweb-node';

function Palette({ nodeTypes, onAdd, t }) {
  const [q, setQ] = useState('');
  const groups = useMemo(() => {
    const needle = q.trim().toLowerCase();
    const out = new Map();
    for (const nt of nodeTypes) {
      const hay = `${nt.type} ${nt.label} ${nt.description} ${nt.category}`.toLowerCase();
      if (needle && !hay.includes(needle)) continue;
      const cat = nt.category || 'other';
      if (!out.has(cat)) out.set(cat, []);
      out.get(cat).push(nt);
    }
    return [...out.entries()];
  }, [nodeTypes, q]);

  return (
    <aside className="fe-palette" data-testid="palette">
      <div className="fe-panel-title">{t('nodes')}</div>
      <input
        className="fe-input fe-palette-search"
        placeholder={t('search_nodes')}
        value={q}
        onChange={(e) => setQ(e.target.value)}
        data-testid="palette-search"
      />
      <div className="fe-palette-hint">{t('palette_hint')}</div>
      <div className="fe-palette-list">
        {groups.map(([cat, items]) => (
          <div key={cat} className="fe-palette-group">
            <div className="fe-palette-cat">{cat}</div>
            {items.map((nt) => (
              <button
                type="button"
                key={nt.type}
                className="fe-palette-item"
                data-testid={`palette-${nt.type}`}
                draggable
                onDragStart={(e) => {
                  e.dataTransfer.setData(DND_MIME, nt.type);
                  e.dataTransfer.effectAllowed = 'move';
                }}
                onClick={() => onAdd(nt.type)}
                title={nt.description}
                style={{ '--fe-accent': colorFor(nt.category || nt.type) }}
              >
                <span className="fe-palette-dot" />
                <span className="fe-palette-text">
                  <span className="fe-palette-label">{nt.label || nt.type}</span>
                  {nt.description && <span className="fe-palette-desc">{nt.description}</span>}
                </span>
              </button>
            ))}
          </div>
        ))}
      </div>
    </aside>
  );
}

export default memo(Palette);
