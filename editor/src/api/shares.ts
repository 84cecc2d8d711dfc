/**
 * Share links (engine/server/routes/shares.ts): the owner makes, lists and revokes read-only
 * links to a workflow; anyone with a link reads it (no sign-in) and a signed-in user imports a
 * copy, in which characters and files they cannot read are named placeholders.
 */
import type { GraphDocument } from '../../../engine/graph/document';
import type { ArtifactRef } from '../../../engine/graph/values';
import { request } from './http';
import type { GraphProblem } from './types';

export type ShareStatus = 'active' | 'expired' | 'revoked';

/** A link as its owner lists it: never its secret. */
export interface ShareInfo {
  id: string;
  workflowId: string;
  revision: number;
  name: string;
  createdAt: string;
  expiresAt: string;
  revokedAt?: string;
  status: ShareStatus;
  hasVideo: boolean;
  hasPreview: boolean;
}

/** A made link, with its URL shown this once. */
export interface CreatedShare extends ShareInfo {
  token: string;
  url: string;
}

export type SharedArtifact = ArtifactRef & { url: string };

/** What a link shows. */
export interface SharedWorkflow {
  name: string;
  description: string;
  graph: GraphDocument;
  revision: number;
  sharedBy: string;
  expiresAt: string;
  preview?: SharedArtifact;
  video?: SharedArtifact;
}

/** A reference the import had to leave empty. */
export interface ClearedReference {
  nodeId: string;
  param: string;
  kind: 'character' | 'artifact';
  id: string;
  name?: string;
}

export interface ImportedCopy {
  id: string;
  name: string;
  problems: GraphProblem[];
  placeholders: ClearedReference[];
}

const enc = encodeURIComponent;

export const shareApi = {
  create: (workflowId: string, options: { expiresInDays: number; includeVideo: boolean }) =>
    request<CreatedShare>(`/api/workflows/${enc(workflowId)}/shares`, {
      method: 'POST',
      body: options,
    }),
  list: (workflowId: string) => request<ShareInfo[]>(`/api/workflows/${enc(workflowId)}/shares`),
  revoke: (id: string) => request<void>(`/api/shares/${enc(id)}`, { method: 'DELETE' }),
  open: (token: string) => request<SharedWorkflow>(`/api/shared/${enc(token)}`),
  importCopy: (token: string) =>
    request<ImportedCopy>(`/api/shared/${enc(token)}/import`, { method: 'POST', body: {} }),
};
