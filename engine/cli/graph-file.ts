/** Reading a graph file for `run` and `validate`, and printing validation problems. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ValidationProblem } from '../graph/problems';
import { UsageError } from './args';

/** The file's text; a missing or unreadable file is a usage error (exit 2). */
export async function readGraphFile(
  cwd: string,
  path: string,
): Promise<{ file: string; text: string }> {
  const file = resolve(cwd, path);
  try {
    return { file, text: await readFile(file, 'utf8') };
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error);
    throw new UsageError(`cannot read the graph file "${path}" (${reason}): check the path`);
  }
}

/** One line per problem, with where it is when the message does not already say. */
export function formatProblems(problems: readonly ValidationProblem[]): string[] {
  return problems.map((problem) => {
    const where = [
      problem.nodeId && !problem.message.includes(`"${problem.nodeId}"`)
        ? `node ${problem.nodeId}`
        : '',
      problem.edgeId && !problem.message.includes(`"${problem.edgeId}"`)
        ? `edge ${problem.edgeId}`
        : '',
    ]
      .filter(Boolean)
      .join(', ');
    return `  - ${problem.code}: ${problem.message}${where ? ` (${where})` : ''}`;
  });
}
