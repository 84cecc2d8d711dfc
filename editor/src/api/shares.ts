/**
 * Share links (engine/server/routes/shares.ts): the owner makes, lists and revokes read-only
 * links to a workflow; anyone with a link reads it (no sign-in) and a signed-in user imports a
 * copy, in which characters and files they cannot read are named placeholders.
 */
import type {
  ClearedReference,
  ShareSummary,
  SharedWorkflow,
} from '../../../engine/server/share-links';

export type { SharedWorkflow };
import { request } from './http';
import type { GraphProblem } from './types';

/** A link as its owner lists it: never its secret (the server's ShareSummary). */
export type ShareInfo = ShareSummary;

/** A made link, with its URL shown this once. */
export interface CreatedShare extends ShareInfo {
  token: string;
  url: string;
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
