/**
 * Which provider a node uses: the node's `provider` param read against the worker's
 * configuration. `auto` is the real provider when it is configured, else the local animatic;
 * asking for a real provider that is not configured fails at once, naming what to set.
 */
import { NonRetryableNodeError } from '../../nodes/activity-types';
import type { ProviderConfig } from './config';

/** A provider an activity can call. */
export type ConcreteProvider = 'local' | 'openai' | 'a1111' | 'comfyui' | 'runway';

/** Node types that choose a provider. */
export type ProviderNodeType = 'gpt-storyboard' | 'sd-lora-frame' | 'runway-clip';

interface ProviderFamily {
  /** Real providers this node type may ask for, in `auto` preference order. */
  real: readonly Exclude<ConcreteProvider, 'local'>[];
  /** The real provider `auto` picks, if one is configured. */
  configured(config: ProviderConfig): Exclude<ConcreteProvider, 'local'> | undefined;
  /** The environment variables that configure one real provider. */
  setup: Partial<Record<ConcreteProvider, string>>;
}

const FAMILIES: Record<ProviderNodeType, ProviderFamily> = {
  'gpt-storyboard': {
    real: ['openai'],
    configured: (config) => (config.openai?.apiKey ? 'openai' : undefined),
    setup: { openai: 'set OPENAI_API_KEY (and OPENAI_BASE_URL for an OpenAI-compatible server)' },
  },
  'sd-lora-frame': {
    real: ['a1111', 'comfyui'],
    configured: (config) => (config.sd?.url ? config.sd.kind : undefined),
    setup: {
      a1111: 'set SD_API_URL to an AUTOMATIC1111/Forge server and SD_API_KIND=a1111',
      comfyui: 'set SD_API_URL to a ComfyUI server and SD_API_KIND=comfyui',
    },
  },
  'runway-clip': {
    real: ['runway'],
    configured: (config) => (config.runway?.apiKey ? 'runway' : undefined),
    setup: { runway: 'set RUNWAY_API_KEY (and RUNWAY_BASE_URL for another endpoint)' },
  },
};

/** Whether a node type chooses a provider through its `provider` param. */
export function isProviderNodeType(type: string): type is ProviderNodeType {
  return Object.hasOwn(FAMILIES, type);
}

/**
 * Resolves `requested` (`auto`, `local` or a real provider's name) for a node type.
 * Errors (both non-retryable): `provider_not_configured` when a real provider is asked for
 * but this worker has no key/URL for it, `unknown_provider` for a name the node does not know.
 */
export function resolveProvider(
  nodeType: ProviderNodeType,
  requested: string | undefined,
  config: ProviderConfig,
): ConcreteProvider {
  const family = FAMILIES[nodeType];
  const wanted = requested ?? 'auto';
  if (wanted === 'local') return 'local';
  if (wanted === 'auto') return family.configured(config) ?? 'local';
  const real = family.real.find((p) => p === wanted);
  if (!real) {
    throw new NonRetryableNodeError(
      `${nodeType} has no provider "${wanted}": choose one of auto, local, ${family.real.join(', ')}`,
      'unknown_provider',
    );
  }
  if (family.configured(config) !== real) {
    const other = family.configured(config);
    throw new NonRetryableNodeError(
      `${nodeType} asks for the ${real} provider, but this worker has no ${real} configured` +
        (other ? ` (it is set up for ${other})` : '') +
        `: ${family.setup[real]} in the worker's environment, or set the node's provider to auto or local`,
      'provider_not_configured',
    );
  }
  return real;
}
