import { SqlTable, asDate } from '../../kernel/sql-table.js';
import { Session, User } from './entities.js';

/*
 * The auth tables as this module's hand-written SQL names them, each with the one mapping from its
 * rows to the entity's types (README, "Data access"). Column names come from entities.ts.
 */

export const USERS = new SqlTable(User, { createdAt: asDate });
export const SESSIONS = new SqlTable(Session, { expiresAt: asDate, createdAt: asDate });
