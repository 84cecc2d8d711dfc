import { describe, expect, it } from 'vitest';
import { emptySnapshot, type RunEvent, type RunSnapshot } from '../runs/events';
import type { GraphDocument } from '../graph/document';
import { UsageError, parseServerUrl, parseSets } from './args';
import { describeFailure, findFinalVideo, ProgressPrinter } from './progress';
import { safeFileName } from './run-command';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

describe('progress lines', () => {
  it('prints one line per event, with done/total for fan-out nodes, and skips repeats', () => {
    const lines: string[] = [];
    const printer = new ProgressPrinter('run_1', (line) => lines.push(line));
    const events: Omit<RunEvent, 'seq'>[] = [
      { runId: 'run_1', type: 'run.started', at: at(0) },
      { runId: 'run_1', type: 'node.started', nodeId: 'frames', total: 4, at: at(1) },
      { runId: 'run_1', type: 'node.completed', nodeId: 'frames', index: 0, at: at(2) },
      { runId: 'run_1', type: 'node.completed', nodeId: 'frames', index: 1, at: at(3) },
      {
        runId: 'run_1',
        type: 'node.progress',
        nodeId: 'frames',
        index: 2,
        progress: 0.12,
        at: at(4),
      },
      {
        runId: 'run_1',
        type: 'node.progress',
        nodeId: 'story',
        progress: 0.5,
        stage: 'asking',
        at: at(5),
      },
      { runId: 'run_1', type: 'node.failed', nodeId: 'story', error: 'quota exceeded', at: at(6) },
      { runId: 'run_1', type: 'run.failed', error: 'node story failed', at: at(8) },
    ];
    events.forEach((event, i) => printer.accept({ ...event, seq: i + 1 }));
    printer.accept({ ...events[3], seq: 4 });
    expect(lines).toEqual([
      'run run_1 started',
      '[frames 0/4] started',
      '[frames 1/4] 25%',
      '[frames 2/4] 50%',
      '[frames 2/4] 53%',
      '[story] 50% asking',
      '[story] failed: quota exceeded',
      'run failed in 8.0 s: node story failed',
    ]);
    expect(printer.lastSeq).toBe(8);
  });

  it('finds the final single video, preferring the last node, ignoring clip lists', () => {
    const ref = (id: string, mime: string) => ({
      id: id.repeat(64),
      sha256: id.repeat(64),
      mime,
      bytes: 10,
    });
    const graph = {
      nodes: [
        { id: 'clips', type: 'runway-clip' },
        { id: 'merge', type: 'ffmpeg-merge' },
      ],
    } as GraphDocument;
    const snapshot: RunSnapshot = {
      ...emptySnapshot('run_1', ['clips', 'merge']),
      status: 'succeeded',
      outputs: {
        clips: { clips: [ref('a', 'video/mp4')] },
        merge: { video: ref('b', 'video/mp4') },
      },
    };
    expect(findFinalVideo(graph, snapshot)?.id).toBe('b'.repeat(64));
    expect(
      findFinalVideo(graph, { ...snapshot, outputs: { clips: snapshot.outputs.clips } }),
    ).toBeUndefined();
  });

  it('explains a failure by its failed nodes', () => {
    const snapshot = emptySnapshot('run_1', ['a', 'b']);
    snapshot.status = 'failed';
    snapshot.nodes.b = { status: 'failed', progress: 0, error: 'character "x" does not exist' };
    expect(describeFailure(snapshot)).toEqual(['node "b" failed: character "x" does not exist']);
    expect(describeFailure({ ...snapshot, nodes: {}, status: 'cancelled' })).toEqual([
      'the run was cancelled',
    ]);
  });
});

describe('argument parsing', () => {
  it('reads --set pairs, splitting node ids with dots at the last dot later', () => {
    expect(parseSets(['script.text=Hello = world', 'my.node.shots=3'])).toEqual({
      'script.text': 'Hello = world',
      'my.node.shots': '3',
    });
    for (const bad of ['text=hi', '=x', 'script.=x', 'script.text']) {
      expect(() => parseSets([bad]), bad).toThrow(UsageError);
    }
    expect(() => parseSets(['a.b=1', 'a.b=2'])).toThrow(/given twice/);
  });

  it('checks server URLs', () => {
    expect(parseServerUrl('http://127.0.0.1:8080/')).toBe('http://127.0.0.1:8080');
    expect(() => parseServerUrl('localhost:8080')).toThrow(UsageError);
    expect(() => parseServerUrl('ftp://host')).toThrow(/http/);
  });

  it('makes a file name of any graph name', () => {
    expect(safeFileName('Hero intro')).toBe('Hero intro');
    expect(safeFileName('a/b\\c: "d"?')).toBe('a_b_c_ _d__');
    expect(safeFileName('..')).toBe('output');
  });
});
