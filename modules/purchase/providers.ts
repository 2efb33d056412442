import type { EntityManager } from '../../kernel/module.js';
import { DeliveryProvider } from './entities.js';

/**
 * The providers the store starts with. On MySQL the first migration inserts them; the embedded
 * SQLite default has no migrations, so it gets them from here at start.
 */
const STARTING_PROVIDERS = [
  { id: 'dhl', name: 'DHL', coverage: 'international', costCents: 2500 },
  { id: 'fedex', name: 'FedEx', coverage: 'international', costCents: 2200 },
  { id: 'envia', name: 'Envia', coverage: 'national', costCents: 800 },
  { id: 'servientrega', name: 'Servientrega', coverage: 'national', costCents: 600 },
] as const;

export async function ensureStartingProviders(em: EntityManager) {
  if ((await em.count(DeliveryProvider, {})) > 0) return;
  await em.insertMany(DeliveryProvider, STARTING_PROVIDERS.map((p) => ({ ...p })));
}
