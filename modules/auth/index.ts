import type { BookstoreModule } from '../../kernel/module.js';
import { AUTH_OPERATIONS, type AuthApi } from './client.js';
import { Session, User } from './entities.js';
import { migrations } from './migrations/index.js';
import { authRoutes } from './routes.js';
import { ensureAdmin, ensureSeller, resolveSession } from './service.js';

export const authModule: BookstoreModule = {
  name: 'auth',
  description: 'Accounts and sessions: register, sign in and out, the current user, the admin user list.',
  entities: [User, Session],
  migrations,
  routes: authRoutes,
  internalApi: ({ db }) => {
    const api: AuthApi = {
      resolveSession: ({ token }) => resolveSession(db.em.fork(), token),
      ensureSeller: (input) => ensureSeller(db.em.fork(), input),
    };
    return { api, operations: AUTH_OPERATIONS };
  },
  async start({ config, db, logger }) {
    if (!config.admin) return;
    await ensureAdmin(db.em.fork(), config.admin.email, config.admin.password);
    logger.info({ email: config.admin.email }, 'administrator account ready');
  },
};
