/**
 * Which provider one run of a node uses: the node's `provider` param read against the
 * worker's configured services and the real providers its definition lists. `auto` is the
 * first configured one, else the local fallback; asking for a real provider that is not
 * configured fails at once, naming what to set. Node type agnostic: the definition says which
 * providers a node has.
 */
import type { NodeDefinition } from '../graph/define-node';
import {
  PROVIDER_SERVICES,
  PROVIDER_SETUP,
  type ProviderService,
  type ProviderServices,
} from '../config';
import { NonRetryableNodeError, type ProviderChoice } from '../worker/node-api';

export type { ProviderChoice };

/**
 * Resolves `requested` (`auto`, `local` or a real provider's name) for a node. Errors (both
 * non-retryable): `unknown_provider` for a name the node does not offer,
 * `provider_not_configured` when a real provider is asked for but this worker has no key/URL.
 */
export function chooseProvider(
  definition: Pick<NodeDefinition, 'type' | 'providers' | 'explicitProviders'>,
  requested: unknown,
  services: ProviderServices,
): ProviderChoice {
  const offered = (definition.providers ?? []).filter(isService);
  const wanted = typeof requested === 'string' ? requested : 'auto';
  if (wanted === 'local') return { name: 'local' };
  if (wanted === 'auto') {
    // Paid-per-call providers the definition marks explicit are never an automatic choice.
    const configured = offered.find(
      (service) => services[service] && !definition.explicitProviders?.includes(service),
    );
    return configured ? choice(configured, services) : { name: 'local' };
  }
  const real = offered.find((service) => service === wanted);
  if (!real) {
    throw new NonRetryableNodeError(
      `${definition.type} has no provider "${wanted}": choose one of ${['auto', 'local', ...offered].join(', ')}`,
      'unknown_provider',
    );
  }
  if (!services[real]) {
    const other = offered.find((service) => services[service]);
    throw new NonRetryableNodeError(
      `${definition.type} asks for the ${real} provider, but this worker has no ${real} configured` +
        (other ? ` (it is set up for ${other})` : '') +
        `: ${PROVIDER_SETUP[real]} in the worker's environment, or set the node's provider to auto or local`,
      'provider_not_configured',
    );
  }
  return choice(real, services);
}

function isService(name: string): name is ProviderService {
  return (PROVIDER_SERVICES as readonly string[]).includes(name);
}

function choice(service: ProviderService, services: ProviderServices): ProviderChoice {
  return { name: service, config: services[service] } as ProviderChoice;
}
