/**
 * The node palette from `GET /api/node-types`: search, categories (each node's own, in registry
 * order), drag a node onto the canvas or double-click (or Enter) to add it in the middle of the
 * view. Entries carry the node's colour from its definition.
 */
import { memo, useMemo, useState } from 'react';
import type { CSSProperties, DragEvent } from 'react';
import { PORT_COLORS } from '../../../engine/graph/ports';
import type { NodeTypeInfo } from '../api/types';
import { groupByCategory, portKind, searchNodeTypes } from './catalog';
import './Palette.css';

/** The drag payload type for palette items (a node type id). */
export const NODE_DRAG_TYPE = 'application/x-charlab-node';

export interface PaletteProps {
  types: readonly NodeTypeInfo[];
  onAdd(type: string): void;
}

export const Palette = memo(function Palette({ types, onAdd }: PaletteProps) {
  const [query, setQuery] = useState('');
  const groups = useMemo(() => groupByCategory(searchNodeTypes(types, query)), [types, query]);

  const onDragStart = (event: DragEvent, type: string) => {
    event.dataTransfer.setData(NODE_DRAG_TYPE, type);
    event.dataTransfer.setData('text/plain', type);
    event.dataTransfer.effectAllowed = 'copy';
  };

  return (
    <aside className="palette" aria-label="Node palette">
      <input
        className="input palette__search"
        type="search"
        placeholder="Search nodes…"
        aria-label="Search nodes"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && groups[0]?.types[0]) onAdd(groups[0].types[0].type);
        }}
      />
      <div className="palette__list">
        {groups.length === 0 && (
          <p className="empty-hint">
            No node matches “{query}”. Try a port kind like “image” or “video”.
          </p>
        )}
        {groups.map((group) => (
          <section key={group.category} className="palette__group">
            <h3>{group.category}</h3>
            {group.types.map((info) => (
              <div
                key={info.type}
                className="palette__item"
                role="button"
                tabIndex={0}
                draggable
                style={{ '--node-color': info.color } as CSSProperties}
                data-testid={`palette-${info.type}`}
                title={`${info.description}\nDrag onto the canvas or double-click to add.`}
                onDragStart={(e) => onDragStart(e, info.type)}
                onDoubleClick={() => onAdd(info.type)}
                onKeyDown={(e) => e.key === 'Enter' && onAdd(info.type)}
              >
                <span className="palette__title">{info.title}</span>
                <span className="palette__ports">
                  {info.inputs.map((p) => (
                    <i
                      key={`i-${p.id}`}
                      className="dot"
                      style={{ background: PORT_COLORS[portKind(p.type)] }}
                      title={`in: ${p.label} (${p.type})`}
                    />
                  ))}
                  <span className="palette__arrow">→</span>
                  {info.outputs.map((p) => (
                    <i
                      key={`o-${p.id}`}
                      className="dot"
                      style={{ background: PORT_COLORS[portKind(p.type)] }}
                      title={`out: ${p.label} (${p.type})`}
                    />
                  ))}
                </span>
              </div>
            ))}
          </section>
        ))}
      </div>
    </aside>
  );
});
