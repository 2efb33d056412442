import * as v from 'valibot';
import { defineSettings } from '../../kernel/config.js';
import { defineModule } from '../../kernel/module.js';
import { AUTH_OPERATIONS, type AuthApi } from './client.js';
import { Session, User } from './entities.js';
import { migrations } from './migrations/index.js';
import { authRoutes } from './routes.js';
import { ensureAdmin, ensureSeller, resolveSession } from './service.js';

const ADMIN_PASSWORD_LENGTH = 'must be 8-128 characters';

/** The administrator, created or updated at every start when both variables are set. */
const authSettings = defineSettings(
  {
    BOOKSTORE_ADMIN_EMAIL: v.optional(v.pipe(v.string(), v.trim(), v.toLowerCase(), v.email('must be an email address'))),
    BOOKSTORE_ADMIN_PASSWORD: v.optional(v.pipe(v.string(), v.minLength(8, ADMIN_PASSWORD_LENGTH), v.maxLength(128, ADMIN_PASSWORD_LENGTH))),
  },
  (values) => ({
    admin: values.BOOKSTORE_ADMIN_EMAIL && values.BOOKSTORE_ADMIN_PASSWORD ? { email: values.BOOKSTORE_ADMIN_EMAIL, password: values.BOOKSTORE_ADMIN_PASSWORD } : undefined,
  }),
  {
    secrets: ['BOOKSTORE_ADMIN_PASSWORD'],
    check: (values) => (Boolean(values.BOOKSTORE_ADMIN_EMAIL) !== Boolean(values.BOOKSTORE_ADMIN_PASSWORD) ? ['BOOKSTORE_ADMIN_EMAIL and BOOKSTORE_ADMIN_PASSWORD: set both or neither'] : []),
  },
);

export const authModule = defineModule({
  name: 'auth',
  description: 'Accounts and sessions: register, sign in and out, the current user, the admin user list.',
  entities: [User, Session],
  migrations,
  settings: authSettings,
  problems: ['email_taken', 'invalid_credentials'],
  sessions: { signIn: 'POST /api/auth/login' },
  setup: (ctx) => ctx,
  routes: authRoutes,
  internalApi: ({ db }) => {
    const api: AuthApi = {
      resolveSession: ({ token }) => resolveSession(db.em.fork(), token),
      ensureSeller: (input) => ensureSeller(db.em.fork(), input),
    };
    return { api, operations: AUTH_OPERATIONS };
  },
  async start({ settings: { admin }, db, logger }) {
    if (!admin) return;
    await ensureAdmin(db.em.fork(), admin.email, admin.password);
    logger.info({ email: admin.email }, 'administrator account ready');
  },
});
