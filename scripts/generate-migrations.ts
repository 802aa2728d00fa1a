/** Generates drizzle migrations for every module with a schema file (or the modules named). */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const requested = process.argv.slice(2);
const modules = readdirSync('src/modules').filter(
  (m) => existsSync(`src/modules/${m}/${m}.schema.ts`) && (requested.length === 0 || requested.includes(m)),
);
for (const module of modules) {
  console.log(`== ${module}`);
  execFileSync('npx', ['drizzle-kit', 'generate', '--config', 'drizzle.config.ts'], {
    stdio: 'inherit',
    env: { ...process.env, TELELAB_MODULE: module },
  });
}
