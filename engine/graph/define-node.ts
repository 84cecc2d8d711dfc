/**
 * `defineNode` declares a node type once: ports, zod params (with defaults), UI metadata,
 * where it runs and its append-only param migrations. The editor, validator, compiler and
 * worker all read the same definition. Browser-safe: zod only, no React, no SDKs.
 */
import type { z } from 'zod';
import type { FanOutSource } from './fan-out';
import type { TaskQueue } from './plan';
import type { PortType } from './ports';
import type { Character } from './values';

/**
 * Where a node runs: `inline` nodes are pure and evaluated by the compiler, with no activity;
 * the others run as an activity on that task queue.
 */
export type RunsOn = 'inline' | TaskQueue;

export interface PortSpec {
  type: PortType;
  label: string;
  /** Inputs only: the node runs without it. */
  optional?: boolean;
  /** List inputs only: several edges may feed it; their values are concatenated in edge order. */
  multiple?: boolean;
  description?: string;
}

/** How the editor renders a param. Anything not listed is derived from the zod type. */
export type ParamWidget =
  'text' | 'textarea' | 'number' | 'select' | 'toggle' | 'seed' | 'character' | 'image-upload';

export interface ParamUi {
  widget?: ParamWidget;
  label?: string;
  help?: string;
  /** Hidden from the inspector's basic view. */
  advanced?: boolean;
}

/** A named, pure, append-only param migration from `to - 1` to `to`. Never edit a shipped one. */
export interface NodeMigration {
  name: string;
  to: number;
  up(params: Record<string, unknown>): Record<string, unknown>;
}

/**
 * Fan-out: the node runs once per item of one input. `path` picks a list inside the input's
 * value (`shots` of a storyboard); without it the input itself is the list. List outputs
 * collect one value per item.
 */
export interface FanOutSpec extends FanOutSource {
  /**
   * Other inputs that are read per item too (item i of their list): the cache key of item i
   * then depends only on those items, so editing shot 3 re-renders only clip 3.
   */
  zip?: FanOutSource[];
}

export interface ExecutionDefaults {
  startToCloseSec: number;
  /** A dead worker is noticed after this long; the activity heartbeats well within it. */
  heartbeatSec: number;
  maxAttempts: number;
  /** Fan-out items in flight at once. */
  maxParallel: number;
}

export interface NodeDefinition<P extends z.ZodObject = z.ZodObject> {
  type: string;
  version: number;
  title: string;
  /** The palette group; groups appear in the order their first node type is registered. */
  category: string;
  /** The node's accent colour (`#rrggbb`): its header and its dot on the minimap. */
  color: string;
  description: string;
  inputs: Record<string, PortSpec>;
  outputs: Record<string, PortSpec>;
  params: P;
  paramUi: Partial<Record<keyof z.infer<P> & string, ParamUi>>;
  runsOn: RunsOn;
  /**
   * The real providers this node can call, in the order `auto` prefers them (`openai`,
   * `a1111`, …: names of the provider services in the engine's configuration). A node with
   * providers has a `provider` param offering `auto`, each of them and `local`; the activity
   * shell resolves it and hands the activity that one provider's configuration.
   */
  providers?: readonly string[];
  /**
   * Providers of `providers` that `auto` never picks: they cost money per call (e.g. Runway
   * images for key frames), so they run only when the node's `provider` param names them.
   */
  explicitProviders?: readonly string[];
  fanOut?: FanOutSpec;
  execution: ExecutionDefaults;
  /** False for nodes whose output depends on something other than params and inputs. */
  cacheable: boolean;
  migrations: NodeMigration[];
  /**
   * For a node that is not cacheable because its output is a read of stored documents rather
   * than work (the character as saved now): how the server answers it before the run starts,
   * with the same reads, so the cache keys below it chain through and an unchanged graph needs
   * no workflow (engine/runs/cache-plan.ts). Must return exactly what the activity would, or
   * undefined to leave the node to its activity (e.g. what it reads needs computing first).
   * Single (not fan-out) activity nodes only.
   */
  resolveOnServer?(args: {
    params: z.infer<P>;
    inputs: Record<string, unknown>;
    reads: ServerReads;
  }): Promise<Record<string, unknown> | undefined>;
  /** `workflow` nodes only: outputs from params, pure and deterministic. */
  evaluate?(params: z.infer<P>): Record<string, unknown>;
  /**
   * Checks zod cannot express, run by the validator on params that passed the zod schema and
   * reported as `invalid_param` problems with the node's id and `param` (so the studio marks
   * the field). Two uses: a required choice ("a character must be chosen") and a provider's
   * capability table, where one param's allowed values depend on another's (Runway's Veo
   * makes only four ratios; gen4_turbo 2–10 s): a node keeps its per-model table beside its
   * definition (browser-safe, e.g. nodes/runway-clip/models.ts) and returns one problem per
   * impossible combination, its message naming the allowed values. The validator runs before
   * every save, run and CLI validate, so an impossible combination never reaches a paid call.
   * Pure and fast: it runs on every keystroke in the canvas.
   */
  check?(params: z.infer<P>): ParamProblem[];
}

/**
 * What the server reads for `resolveOnServer`, on behalf of the run's owner. Reads only: what
 * needs computing (a face identity) is left to the worker.
 */
export interface ServerReads {
  /**
   * The stored character `id` if the run's owner may read it (their own or a public one) and
   * its face identity is stored and current; `faceModel` is the identity's model when it has a
   * face, else null. Undefined when missing, unreadable, or the identity must be computed first.
   */
  character(id: string): Promise<{ character: Character; faceModel: string | null } | undefined>;
}

export interface ParamProblem {
  param: string;
  message: string;
}

const DEFAULT_EXECUTION: ExecutionDefaults = {
  startToCloseSec: 600,
  heartbeatSec: 20,
  maxAttempts: 3,
  maxParallel: 4,
};

type NodeInit<P extends z.ZodObject> = Omit<
  NodeDefinition<P>,
  'execution' | 'migrations' | 'paramUi' | 'cacheable'
> &
  Partial<Pick<NodeDefinition<P>, 'migrations' | 'paramUi' | 'cacheable'>> & {
    execution?: Partial<ExecutionDefaults>;
  };

/** Declares a node type, checking the declaration's own consistency at import time. */
export function defineNode<P extends z.ZodObject>(init: NodeInit<P>): NodeDefinition<P> {
  const definition: NodeDefinition<P> = {
    ...init,
    paramUi: init.paramUi ?? {},
    cacheable: init.cacheable ?? true,
    migrations: init.migrations ?? [],
    execution: { ...DEFAULT_EXECUTION, ...init.execution },
  };
  assertWellFormed(definition);
  return definition;
}

function assertWellFormed(def: NodeDefinition): void {
  const where = `node type "${def.type}"`;
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(def.type))
    throw new Error(`${where}: id must be kebab-case`);
  if (!Number.isInteger(def.version) || def.version < 1)
    throw new Error(`${where}: version must be >= 1`);
  def.migrations.forEach((m, i) => {
    if (m.to !== i + 2)
      throw new Error(`${where}: migration ${m.name} must migrate to version ${i + 2}`);
  });
  if (def.migrations.length !== def.version - 1) {
    throw new Error(`${where}: version ${def.version} needs ${def.version - 1} migrations`);
  }
  if ((def.runsOn === 'inline') !== (def.evaluate !== undefined)) {
    throw new Error(`${where}: exactly the inline nodes define evaluate()`);
  }
  if (def.resolveOnServer && (def.runsOn === 'inline' || def.fanOut)) {
    throw new Error(`${where}: only a single activity node can be resolved on the server`);
  }
  if (!/^#[0-9a-f]{6}$/i.test(def.color)) throw new Error(`${where}: color must be #rrggbb`);
  if (def.category.trim() === '') throw new Error(`${where}: category must not be empty`);
  if (def.providers) assertProviderParam(def, where);
  for (const name of def.explicitProviders ?? []) {
    if (!def.providers?.includes(name))
      throw new Error(`${where}: explicit provider "${name}" is not one of its providers`);
  }
  if (def.fanOut && !(def.fanOut.input in def.inputs)) {
    throw new Error(`${where}: fan-out input "${def.fanOut.input}" is not an input`);
  }
  for (const [id, port] of Object.entries(def.inputs)) {
    if (port.multiple && !port.type.endsWith('[]')) {
      throw new Error(`${where}: input "${id}" accepts several edges, so it must be a list`);
    }
  }
  const parsed = def.params.safeParse({});
  if (!parsed.success) throw new Error(`${where}: every param needs a default`);
}

/** A node with providers offers exactly `auto`, `local` and each of them in its `provider` param. */
function assertProviderParam(def: NodeDefinition, where: string): void {
  const choices = providerChoices(def);
  const expected = ['auto', ...(def.providers ?? []), 'local'];
  const same =
    choices !== undefined &&
    choices.length === expected.length &&
    expected.every((choice) => choices.includes(choice));
  if (!same) {
    throw new Error(
      `${where}: declares providers, so its "provider" param must be an enum of ${expected.join(', ')}`,
    );
  }
}

/** The options of a node's `provider` enum param, if it has one. */
export function providerChoices(def: NodeDefinition): string[] | undefined {
  const field = (def.params.shape as Record<string, unknown>).provider as
    { unwrap?: () => unknown; options?: unknown } | undefined;
  let inner: unknown = field;
  // `.default()` wraps the enum; unwrap until the options show.
  for (let depth = 0; depth < 3 && inner && !(inner as { options?: unknown }).options; depth++) {
    const unwrap = (inner as { unwrap?: () => unknown }).unwrap;
    inner = typeof unwrap === 'function' ? unwrap.call(inner) : undefined;
  }
  const options = (inner as { options?: unknown } | undefined)?.options;
  return Array.isArray(options) ? options.map(String) : undefined;
}
