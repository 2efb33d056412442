/**
 * Every signed-in auth route (POST /logout, GET /me, the administrators' GET /users) passes the
 * checks that test/protected-route.ts writes once: 401, 403 for a cookie change without our Origin,
 * 405, and 403 for a customer where only administrators may call; on each backend. Sign-in and
 * sign-up, which need no session, refuse a foreign Origin too: sign-in-security.test.ts.
 */
import { beforeAll } from 'vitest';
import { describeOnEachBackend } from '../../test/harness.js';
import { itIsAProtectedRoute, signInAs } from '../../test/protected-route.js';

const ADMIN = { email: 'security.admin@example.test', password: 'admin password 123' };

describeOnEachBackend(
  'auth routes are protected',
  (store) => {
    let admin: string;

    beforeAll(async () => {
      admin = await signInAs(store(), ADMIN);
    });

    itIsAProtectedRoute(store, { method: 'POST', path: '/api/auth/logout', allow: 'POST' });
    itIsAProtectedRoute(store, { method: 'GET', path: '/api/auth/me', allow: 'GET, HEAD' });
    itIsAProtectedRoute(store, { method: 'GET', path: '/api/auth/users', allow: 'GET, HEAD', adminOnly: true, session: () => admin });
  },
  { BOOKSTORE_ADMIN_EMAIL: ADMIN.email, BOOKSTORE_ADMIN_PASSWORD: ADMIN.password },
);
