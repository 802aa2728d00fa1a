/**
 * drizzle-kit config for one module at a time: `TELELAB_MODULE=logs npx drizzle-kit generate`.
 * `npm run db:generate` loops over every module that has a `<module>.schema.ts`.
 */
import { defineConfig } from 'drizzle-kit';

const module = process.env.TELELAB_MODULE;
if (!module) throw new Error('Set TELELAB_MODULE to the module whose migrations to generate');

export default defineConfig({
  dialect: 'postgresql',
  schema: `./src/modules/${module}/${module}.schema.ts`,
  out: `./drizzle/${module}`,
});
