import type { Database, EntityManager } from '../../kernel/module.js';
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

export interface ProviderView {
  id: string;
  name: string;
  coverage: 'international' | 'national';
  costCents: number;
}

/** Providers change by migration, a few times a year: a minute-old copy is current enough. */
export const PROVIDERS_FRESH_MS = 60_000;

interface Loaded {
  at: number;
  providers: Promise<ProviderView[]>;
}

async function readProviders(db: Database): Promise<ProviderView[]> {
  const rows = await db.em.fork().find(DeliveryProvider, {}, { orderBy: { costCents: 'asc', id: 'asc' } });
  return rows.map(({ id, name, coverage, costCents }) => ({ id, name, coverage, costCents }));
}

/**
 * The delivery providers, cheapest first, read once a minute per module instance rather than once
 * per order. A failed read is not kept: the next caller reads again.
 */
export class DeliveryProviders {
  private loaded: Loaded | undefined;

  constructor(private readonly db: Database) {}

  all(now = Date.now()): Promise<ProviderView[]> {
    const current = this.loaded;
    const age = current ? now - current.at : Infinity;
    if (current && age >= 0 && age < PROVIDERS_FRESH_MS) return current.providers;
    const providers = readProviders(this.db);
    this.loaded = { at: now, providers };
    providers.catch(() => {
      if (this.loaded?.providers === providers) this.loaded = undefined;
    });
    return providers;
  }

  async find(id: string, now = Date.now()): Promise<ProviderView | undefined> {
    return (await this.all(now)).find((p) => p.id === id);
  }
}
