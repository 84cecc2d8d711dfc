/**
 * The import error view: every problem of a broken file at once, grouped by what it is about
 * (the document, each node, each edge), with the stable code and the fix each message names.
 */
import { useMemo } from 'react';
import type { GraphProblem } from '../api/types';
import { groupProblems, problemsAsText } from './import-file';
import './ImportProblems.css';

export interface ImportProblemsProps {
  problems: GraphProblem[];
  /** What was imported: a file name, or "the pasted text". */
  source: string;
}

export function ImportProblems({ problems, source }: ImportProblemsProps) {
  const groups = useMemo(() => groupProblems(problems), [problems]);
  const count = problems.length;
  return (
    <section className="import-problems" role="alert" aria-label="Import problems">
      <header className="import-problems__header">
        <h3>
          {source} cannot be imported: {count} {count === 1 ? 'problem' : 'problems'}
        </h3>
        <button
          type="button"
          className="button button--small"
          onClick={() =>
            void navigator.clipboard?.writeText(problemsAsText(problems)).catch(() => {})
          }
        >
          Copy problems
        </button>
      </header>
      {groups.map((group) => (
        <div key={group.key} className="import-problems__group">
          <h4>{group.title}</h4>
          <ul>
            {group.problems.map((problem, index) => (
              <li key={index} className="import-problem">
                <code className="import-problem__code">{problem.code}</code>
                {problem.where && <span className="import-problem__where">{problem.where}</span>}
                <p>{problem.message}</p>
              </li>
            ))}
          </ul>
        </div>
      ))}
      <p className="muted">
        Nothing was saved. Fix the file and import it again, or export it anew from the studio it
        came from.
      </p>
    </section>
  );
}
