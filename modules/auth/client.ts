import type { ResolvedSession } from '../../kernel/auth-context.js';
import type { InternalClients } from '../../kernel/internal.js';

/**
 * The auth module's internal API: what other modules may ask of it. This file is the only part of
 * the auth module that other modules import.
 */
export interface AuthApi {
  resolveSession(input: { token: string }): Promise<ResolvedSession | null>;
  /** Finds or creates a seller account that cannot sign in (demo data). */
  ensureSeller(input: { name: string; email: string }): Promise<{ id: number }>;
}

export const AUTH_OPERATIONS = ['resolveSession', 'ensureSeller'] as const satisfies readonly (keyof AuthApi)[];

export function authApi(clients: InternalClients): AuthApi {
  return clients.api<AuthApi>('auth', AUTH_OPERATIONS);
}
