import { setLogLevel } from '../../src/logger';

// The gateway applies LOG_LEVEL from its configuration when a runtime opens; tests of parts that
// never open one (unit tests) get the test run's level here (silent unless LOG_LEVEL says).
setLogLevel(process.env.LOG_LEVEL ?? 'silent');
