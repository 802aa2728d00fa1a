/**
 * Runs before every test file (vitest setupFiles): what the file's tests built with test/helpers.ts
 * (apps, test databases) is closed after its tests, and what a test registered with afterTest after it. Modules are loaded once per worker (isolate:
 * false), so this cannot be a hook registered at a helper's import.
 */
import { afterAll, afterEach } from 'vitest';
import { runFileCleanups, runTestCleanups } from './helpers';

afterEach(runTestCleanups);
afterAll(runFileCleanups);
