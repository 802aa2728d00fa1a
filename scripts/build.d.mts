/** Types of build.mjs for the TypeScript that imports it (test/global-setup.ts). */
export function compiledEntry(): Promise<string>;
