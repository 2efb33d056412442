import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { MODULES } from './registry.js';
import { startStore } from './store.js';

/** Process entry: `BOOKSTORE_MODULES` decides which modules this process serves. */
async function main() {
  let config;
  try {
    config = loadConfig(process.env, MODULES);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) console.error(`bookstore: configuration: ${problem}`);
    process.exit(1);
  }
  const logger = createLogger(config.logLevel, { modules: config.modules.join(',') });
  const store = await startStore(config, MODULES, logger).catch((error: unknown) => {
    logger.fatal({ err: error }, 'bookstore failed to start');
    process.exit(1);
  });

  const shown = config.publicUrl ?? `http://localhost:${store.port}`;
  if (store.servesApi) {
    console.log(`\n  BookStore is running at ${shown}\n  API reference: ${shown}/api/docs\n`);
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    try {
      await store.close();
      logger.info('stopped cleanly');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

await main();
