/**
 * buildTestApp() clones a migrated template made by test/global-setup.ts. The reliability suite's
 * vitest config may not list that global setup, so these files make the template themselves when
 * it is missing (and remove it after the file).
 */
import { afterAll } from 'vitest';
import setup from '../../global-setup';

let teardown: (() => Promise<void>) | undefined;

export async function ensureTestTemplate(): Promise<void> {
  if (process.env.TELELAB_TEST_TEMPLATE) return;
  teardown = (await setup()) ?? undefined;
}

afterAll(async () => {
  await teardown?.();
});
