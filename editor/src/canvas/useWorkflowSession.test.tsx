// @vitest-environment jsdom
import { cleanup, renderHook, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { api } from '../api/client';
import type { WorkflowRecord } from '../api/types';
import { characterShort } from '../test/fixtures';
import { prefetchWorkflow, useWorkflowSession } from './useWorkflowSession';

function record(id: string, revision: number): WorkflowRecord {
  return { id, name: 'A workflow', revision, graph: { ...characterShort(), id } };
}

describe('useWorkflowSession', () => {
  afterEach(() => {
    cleanup();
    vi.restoreAllMocks();
  });

  it('takes the workflow the app shell prefetched instead of asking again, once', async () => {
    const get = vi
      .spyOn(api, 'getWorkflow')
      .mockResolvedValueOnce(record('wf_a', 1))
      .mockResolvedValueOnce(record('wf_a', 2));
    // The shell starts the request before the node types (and so the studio) are there.
    prefetchWorkflow('wf_a');
    prefetchWorkflow('wf_a');
    expect(get).toHaveBeenCalledTimes(1);

    const first = renderHook(() => useWorkflowSession('wf_a'));
    await waitFor(() => expect(first.result.current.session).not.toBeNull());
    expect(first.result.current.session?.revision).toBe(1);
    expect(get).toHaveBeenCalledTimes(1);
    first.unmount();

    // A later visit must not be handed the old copy: it fetches the current revision.
    const second = renderHook(() => useWorkflowSession('wf_a'));
    await waitFor(() => expect(second.result.current.session?.revision).toBe(2));
    expect(get).toHaveBeenCalledTimes(2);
  });

  it('asks once more after a failed prefetch, and reports a failure that stays', async () => {
    const get = vi
      .spyOn(api, 'getWorkflow')
      .mockRejectedValue(new Error('workflow_not_found: gone'));
    prefetchWorkflow('wf_gone');
    const { result } = renderHook(() => useWorkflowSession('wf_gone'));
    await waitFor(() => expect(result.current.error?.message).toMatch(/workflow_not_found/));
    expect(result.current.session).toBeNull();
    expect(get).toHaveBeenCalledTimes(2);
  });

  it('loads the workflow after a prefetch refused before the sign-in', async () => {
    vi.spyOn(api, 'getWorkflow')
      .mockRejectedValueOnce(new Error('unauthenticated: sign in first'))
      .mockResolvedValueOnce(record('wf_b', 3));
    prefetchWorkflow('wf_b');
    const { result } = renderHook(() => useWorkflowSession('wf_b'));
    await waitFor(() => expect(result.current.session?.revision).toBe(3));
  });
});
