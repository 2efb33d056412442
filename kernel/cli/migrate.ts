/**
 * Database migrations, per module.
 *   npm run migrate                        apply the migrations of BOOKSTORE_MODULES to DATABASE_URL
 *   npm run migration:create -- <module>   write a new migration for a module's entity changes
 * Creating diffs the module's entities against a scratch MySQL database holding only the module's
 * existing migrations, so one module's migration never touches another module's tables.
 */
import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '../config.js';
import { moduleMigrator, openDatabase, prepareSchema } from '../database.js';
import { createLogger } from '../logger.js';
import { AVAILABLE, MODULES } from '../registry.js';

const [command, moduleName] = process.argv.slice(2);

async function up() {
  const config = loadConfig({ ...process.env, BOOKSTORE_MIGRATE: 'true' }, MODULES);
  const logger = createLogger(config.logLevel);
  const modules = MODULES.filter((m) => config.modules.includes(m.name));
  const db = await openDatabase(config, modules, logger);
  try {
    await prepareSchema(db, config, modules, logger);
    logger.info({ modules: config.modules }, 'schema is up to date');
  } finally {
    await db.close(true);
  }
}

async function create() {
  const module = MODULES.find((m) => m.name === moduleName);
  if (!module) throw new Error(`usage: migration:create <module>, one of ${AVAILABLE.join(', ')}`);
  const server = process.env.DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/test';
  if (!server.startsWith('mysql')) throw new Error('migration:create needs DATABASE_URL to point at a MySQL server');
  const scratch = `bookstore_scratch_${randomBytes(4).toString('hex')}`;
  const scratchUrl = server.replace(/\/[^/]*$/, `/${scratch}`);
  const serverDb = await openDatabase(loadConfig({ DATABASE_URL: server }, MODULES), [], createLogger('warn'));
  await serverDb.em.getConnection().execute(`create database ${scratch}`);
  try {
    const config = loadConfig({ DATABASE_URL: scratchUrl, BOOKSTORE_MODULES: module.name }, MODULES.map((m) => ({ ...m, needs: [] })));
    const db = await openDatabase(config, [module], createLogger('warn'));
    try {
      await prepareSchema(db, config, [module], createLogger('warn'));
      const result = await moduleMigrator(db, module, `./modules/${module.name}/migrations`).createMigration();
      console.log(result.fileName ? `wrote modules/${module.name}/migrations/${result.fileName}; add it to migrations/index.ts` : 'no changes');
    } finally {
      await db.close(true);
    }
  } finally {
    await serverDb.em.getConnection().execute(`drop database ${scratch}`);
    await serverDb.close(true);
  }
}

try {
  if (command === 'up') await up();
  else if (command === 'create') await create();
  else throw new Error('usage: migrate.ts up | create <module>');
} catch (error) {
  if (error instanceof ConfigError) for (const problem of error.problems) console.error(`configuration: ${problem}`);
  else console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
