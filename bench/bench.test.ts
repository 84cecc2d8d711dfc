/**
 * The benchmarks at toy sizes, so their code never rots: every measurement function runs
 * against the real engine, Temporal test server, Socket.IO and ffmpeg, and must return sane
 * numbers — positive, finite, in the right order of fields — with no event lost or repeated.
 * No timing thresholds: speed is the benchmark's business (npm run bench), not a test's.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, type LabServer } from '../engine/server/app';
import { temporalUnavailable } from '../engine/testing/engine-harness';
import { startBenchEngine, type BenchEngine } from './bench-engine';
import { measureCachedFixedCost, measureChainCache, measureTemplateCache } from './cache';
import { measureInterpreter, measureRawTemporal } from './engine-floor';
import { measureEngineLatency, measureRawRelay } from './events';
import { makeClips, measureMerge } from './media';
import { linearFit, percentile } from './stats';
import { measureThroughput } from './throughput';

const sane = (value: number) => Number.isFinite(value) && value > 0;

/**
 * Generous: a few seconds each on an idle machine, many times that on a shared, loaded one.
 * A limit, not a measurement.
 */
const SLOW = 300_000;

describe('bench statistics', () => {
  it('takes nearest-rank percentiles and fits a line through the points', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
    expect(
      linearFit([
        { x: 1, y: 12 },
        { x: 11, y: 112 },
        { x: 21, y: 212 },
      ]),
    ).toEqual({
      fixed: 2,
      perItem: 10,
    });
  });
});

const unavailable = temporalUnavailable();

describe.skipIf(unavailable)('benchmarks, reduced', () => {
  let lab: BenchEngine;
  let server: LabServer;
  let url: string;

  beforeAll(async () => {
    lab = await startBenchEngine({ env: { TEMPORAL_ADDRESS: process.env.TEMPORAL_TEST_ADDRESS } });
    server = buildServer(lab.engine, { rateLimit: false });
    ({ url } = await server.listen('127.0.0.1', 0));
  }, SLOW);
  afterAll(async () => {
    await server?.close();
    await lab?.close();
  });

  it(
    'engine floor: raw SDK workflows and the interpreter on one server, same shapes',
    async () => {
      const options = { lengths: [1, 2], rounds: 1 };
      const raw = await measureRawTemporal(lab.engine, options);
      expect(sane(raw.empty)).toBe(true);
      expect(raw.activities.every(sane) && raw.localActivities.every(sane)).toBe(true);
      expect(raw.activities).toHaveLength(2);
      const ours = await measureInterpreter(lab.engine, options);
      expect(sane(ours.inlineOnly)).toBe(true);
      expect(ours.chain.every(sane)).toBe(true);
      expect(Number.isFinite(ours.perNode) && Number.isFinite(ours.fixed)).toBe(true);
    },
    SLOW,
  );

  it(
    'cache: a chain and the template fresh, identical and last-node-changed',
    async () => {
      // Each measurement also checks the statuses: an identical re-run that recomputed a node
      // throws instead of reporting a cache figure.
      const chain = await measureChainCache(lab.engine, 3, 1);
      const template = await measureTemplateCache(lab.engine, 1, 1);
      for (const figures of [chain, template])
        expect([figures.first, figures.identical, figures.lastChanged].every(sane)).toBe(true);
      const fixed = await measureCachedFixedCost(lab.engine, 3, 1);
      expect(sane(fixed.oneNode)).toBe(true);
      expect(Number.isFinite(fixed.fixed) && Number.isFinite(fixed.perCachedNode)).toBe(true);
    },
    SLOW,
  );

  it(
    'events: every lifecycle event arrives once, the newest report too, over the engine and a raw relay',
    async () => {
      const ours = await measureEngineLatency(lab.engine, url, 20, 10);
      // Progress reports may be coalesced under a backlog (the newest always survives);
      // lifecycle events never are.
      expect(ours).toMatchObject({
        sent: 10,
        lastDelivered: true,
        duplicated: 0,
        lifecycleLost: 0,
        lifecycleDuplicated: 0,
        seqContiguous: true,
      });
      expect(ours.received + ours.lost).toBe(10);
      expect(ours.p50 <= ours.p95 && ours.p95 <= ours.p99 && ours.p99 <= ours.max).toBe(true);
      expect(ours.p50).toBeGreaterThan(0);
      const raw = await measureRawRelay(20, 10);
      expect(raw).toMatchObject({
        sent: 10,
        received: 10,
        lost: 0,
        duplicated: 0,
        lastDelivered: true,
      });
      expect(raw.p50).toBeGreaterThan(0);
    },
    SLOW,
  );
});

describe('media bench, reduced', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'charlab-bench-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it(
    'times the merge and the plain command on one job, re-encoded and stream-copied',
    async () => {
      const files = await makeClips(dir, 2, { width: 160, height: 90, fps: 12, durationSec: 0.5 });
      const encoded = await measureMerge(
        files,
        { width: 128, height: 72, fps: 12, crf: 30 },
        1,
        dir,
      );
      expect(encoded).toMatchObject({ clips: 2, streamCopy: false });
      expect(
        [encoded.ours, encoded.oursUnprobed, encoded.oursMergeOnly, encoded.plain].every(sane),
      ).toBe(true);
      expect(encoded.command).toMatch(/^ffmpeg .*-filter_complex .*libx264/);
      const copied = await measureMerge(
        files,
        { width: 160, height: 90, fps: 12, crf: 30 },
        1,
        dir,
      );
      expect(copied.streamCopy).toBe(true);
      expect(copied.command).toMatch(/-f concat .*-c copy/);
      expect([copied.ours, copied.oursUnprobed, copied.plain].every(sane)).toBe(true);
    },
    SLOW,
  );
});

describe.skipIf(unavailable)('throughput bench, reduced', () => {
  it(
    'runs the template through the API and a worker process, every event seen',
    async () => {
      const figures = await measureThroughput({
        runs: 2,
        shots: 1,
        temporalAddress: process.env.TEMPORAL_TEST_ADDRESS,
      });
      expect(figures).toMatchObject({ runs: 2, completeWithEveryEvent: 2 });
      expect(figures.events).toBeGreaterThan(2 * 4);
      expect(
        [figures.runsPerMinute, figures.serverPeakRssMiB, figures.workerPeakRssMiB].every(sane),
      ).toBe(true);
    },
    SLOW,
  );
});
