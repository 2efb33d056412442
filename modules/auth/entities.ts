import { defineEntity, type InferEntity } from '@mikro-orm/core';

export const User = defineEntity({
  name: 'User',
  tableName: 'auth_users',
  properties: (p) => ({
    id: p.integer().primary().autoincrement(),
    name: p.string().length(150),
    /** Stored lower-cased, so that uniqueness and sign-in ignore case. */
    email: p.string().length(254).unique(),
    /** Argon2id PHC string; null for demo sellers, who cannot sign in. */
    passwordHash: p.string().length(255).nullable(),
    role: p.enum(['customer', 'admin']).default('customer'),
    createdAt: p.datetime(3).onCreate(() => new Date()),
  }),
});
export type User = InferEntity<typeof User>;

/** A session is looked up by its id; only a SHA-256 hash of its secret is stored. */
export const Session = defineEntity({
  name: 'Session',
  tableName: 'auth_sessions',
  properties: (p) => ({
    id: p.string().length(32).primary(),
    secretHash: p.string().length(64),
    user: () => p.manyToOne(User).deleteRule('cascade'),
    expiresAt: p.datetime(3).index(),
    createdAt: p.datetime(3).onCreate(() => new Date()),
  }),
});
export type Session = InferEntity<typeof Session>;
