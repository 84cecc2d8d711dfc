/**
 * Add a node by typing its name where the pointer is: double-click the canvas, press Tab, or
 * drop a dragged connection on empty space (then only node types that fit are offered and
 * the new node is wired up).
 */
import { useMemo, useState } from 'react';
import type { NodeTypeInfo } from '../api/types';
import { searchNodeTypes } from './catalog';
import './QuickAdd.css';

export interface QuickAddProps {
  types: readonly NodeTypeInfo[];
  /** Where to show the box, in page pixels. */
  screen: { x: number; y: number };
  onPick(type: string): void;
  onClose(): void;
}

export function QuickAdd({ types, screen, onPick, onClose }: QuickAddProps) {
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const hits = useMemo(() => searchNodeTypes(types, query).slice(0, 8), [types, query]);
  const left = Math.min(screen.x, window.innerWidth - 300);
  const top = Math.min(screen.y, window.innerHeight - 320);

  return (
    <div className="quick-add" style={{ left, top }} role="dialog" aria-label="Add a node">
      <input
        className="input"
        autoFocus
        placeholder={types.length === 0 ? 'No node type fits here' : 'Add node…'}
        aria-label="Node type"
        value={query}
        onChange={(e) => {
          setQuery(e.target.value);
          setActive(0);
        }}
        onBlur={onClose}
        onKeyDown={(e) => {
          if (e.key === 'Escape') onClose();
          else if (e.key === 'ArrowDown') setActive((i) => Math.min(hits.length - 1, i + 1));
          else if (e.key === 'ArrowUp') setActive((i) => Math.max(0, i - 1));
          else if (e.key === 'Enter' && hits[active]) onPick(hits[active].type);
          else return;
          e.preventDefault();
        }}
      />
      <ul className="quick-add__list">
        {hits.map((info, index) => (
          <li
            key={info.type}
            className={index === active ? 'is-active' : undefined}
            // mousedown, not click: the input's blur would close the box first.
            onMouseDown={(e) => {
              e.preventDefault();
              onPick(info.type);
            }}
            onMouseEnter={() => setActive(index)}
          >
            <span>{info.title}</span>
            <small>{info.category}</small>
          </li>
        ))}
        {hits.length === 0 && <li className="quick-add__empty">Nothing matches</li>}
      </ul>
    </div>
  );
}
