/**
 * A run uses only what its owner may read. A graph names stored things by id in node params
 * (a character loader's `characterId`, an image input's uploaded artifact), and the worker
 * reads them with the server's rights, not the user's; so before a run starts (and before a
 * template becomes a workflow) every such id is checked against the run's owner. An id the
 * owner cannot read is reported exactly like a missing one, so other users' ids cannot be
 * probed.
 *
 * Which params hold references is read from the node definitions (`paramUi.widget`:
 * `character` holds a character id, `image-upload` an artifact ref; engine/graph/placeholders.ts
 * finds them), never from type ids, so a new node type with a character or image param is
 * checked without touching this file.
 */
import type { ArtifactService } from '../artifacts/artifact-service';
import { canRead } from '../auth/viewer';
import type { GraphDocument } from '../graph/document';
import type { GraphSchema } from '../graph/schema';
import { referencesOf } from '../graph/placeholders';
import { describeNode, GraphInvalid, type ValidationProblem } from '../graph/problems';
import type { DocumentStore } from '../stores/ports';

/** Whether the run's owner may read a record (their own, granted, or shipped). */
export interface OwnerReads {
  character(id: string): Promise<boolean>;
  artifact(id: string): Promise<boolean>;
}

/**
 * One problem per reference the owner cannot read, naming the node; `character_not_found` /
 * `artifact_not_found`, as the validator reports its problems.
 */
export async function unreadableResources(
  schema: GraphSchema,
  graph: GraphDocument,
  reads: OwnerReads,
): Promise<ValidationProblem[]> {
  const problems: ValidationProblem[] = [];
  for (const ref of referencesOf(graph, schema.registry)) {
    if (await reads[ref.kind](ref.id)) continue;
    const node = graph.nodes.find((candidate) => candidate.id === ref.nodeId)!;
    const where = describeNode(node, schema.registry);
    problems.push(
      ref.kind === 'character'
        ? {
            code: 'character_not_found',
            nodeId: ref.nodeId,
            param: ref.param,
            message: `${where}: character "${ref.id}" does not exist: pick one of your characters in the inspector`,
          }
        : {
            code: 'artifact_not_found',
            nodeId: ref.nodeId,
            param: ref.param,
            message: `${where}: image "${ref.id}" does not exist: upload the image again in the inspector`,
          },
    );
  }
  return problems;
}

/** Throws 400 `invalid_graph` naming every node whose references the owner cannot read. */
export async function requireReadableResources(
  schema: GraphSchema,
  graph: GraphDocument,
  reads: OwnerReads,
): Promise<void> {
  const problems = await unreadableResources(schema, graph, reads);
  if (problems.length > 0) throw new GraphInvalid(problems);
}

/**
 * What `ownerId` may read, as a plain user: a run's owner is who the workers act for, and an
 * admin's own run gets no more than any member's (the admin reads others' things in the
 * studio, their runs do not pull them in).
 */
export function ownerReads(
  documents: Pick<DocumentStore, 'characters'>,
  artifacts: Pick<ArtifactService, 'readableByOwner'>,
  ownerId: string,
): OwnerReads {
  const asMember = {
    id: ownerId,
    username: ownerId,
    role: 'member' as const,
    via: 'token' as const,
  };
  return {
    async character(id) {
      const record = await documents.characters.get(id);
      return record !== null && canRead(record, asMember);
    },
    async artifact(id) {
      return (await artifacts.readableByOwner(id, ownerId)) !== null;
    },
  };
}
