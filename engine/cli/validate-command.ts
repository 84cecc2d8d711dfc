/** `charlab validate <graph.json>`: every problem at once; exit 1 if there is any. */
import { graphSchema } from '../../nodes/definitions';
import { parseCommand } from './args';
import { formatProblems, readGraphFile } from './graph-file';
import type { CliIO } from './io';

export async function validateCommand(args: string[], io: CliIO): Promise<number> {
  const { positionals } = parseCommand(
    'validate',
    args,
    {},
    {
      min: 1,
      max: 1,
      names: 'the graph file (charlab validate <graph.json>)',
    },
  );
  const { file, text } = await readGraphFile(io.cwd, positionals[0]);
  const { errors, loaded } = graphSchema.check(text);
  if (errors.length > 0) {
    io.out(`${file}: ${errors.length} problem${errors.length === 1 ? '' : 's'}`);
    for (const line of formatProblems(errors)) io.out(line);
    return 1;
  }
  const graph = loaded!.graph;
  const migrated =
    loaded!.migratedFrom === undefined
      ? ''
      : `; saved as version ${loaded!.migratedFrom}, upgraded on load`;
  io.out(
    `${file}: valid ("${graph.name}", ${graph.nodes.length} nodes, ${graph.edges.length} edges${migrated})`,
  );
  return 0;
}
