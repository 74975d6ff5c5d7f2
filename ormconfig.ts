import 'reflect-metadata';
import { loadConfig } from './src/config';
import { createDataSource } from './src/db/dataSource';

// For the TypeORM CLI (`npx typeorm -d dist/ormconfig.js migration:show`); the gateway itself
// uses `cygno-gateway migrate`, which runs the same migrations.
export default createDataSource(loadConfig().databaseUrl);
