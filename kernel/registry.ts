import type { ModuleName } from './config.js';
import type { BookstoreModule } from './module.js';
import { authModule } from '../modules/auth/index.js';
import { catalogModule } from '../modules/catalog/index.js';
import { purchaseModule } from '../modules/purchase/index.js';
import { storefrontModule } from '../modules/storefront/index.js';
import { deliveryWorker } from '../jobs/delivery-worker.js';
import { paymentWorker } from '../jobs/payment-worker.js';

/** Every module this build provides. Adding a module means adding it here, and nowhere else in the kernel. */
export const MODULES: BookstoreModule[] = [authModule, catalogModule, purchaseModule, paymentWorker, deliveryWorker, storefrontModule];

export const AVAILABLE: ModuleName[] = MODULES.map((m) => m.name);
