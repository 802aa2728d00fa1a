/**
 * Generates drizzle migrations for every module with a schema file, or for the modules named:
 * `npm run db:generate -- [module ...] [--name what-changed]`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ options: { name: { type: 'string' } }, allowPositionals: true });
const modules = readdirSync('src/modules').filter(
  (m) =>
    existsSync(`src/modules/${m}/${m}.schema.ts`) && (positionals.length === 0 || positionals.includes(m)),
);
for (const module of modules) {
  console.log(`== ${module}`);
  execFileSync(
    'npx',
    [
      'drizzle-kit',
      'generate',
      '--config',
      'drizzle.config.ts',
      ...(values.name ? ['--name', values.name] : []),
    ],
    { stdio: 'inherit', env: { ...process.env, TELELAB_MODULE: module } },
  );
}
