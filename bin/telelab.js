#!/usr/bin/env node
// Runs the compiled CLI from dist/ (see scripts/build.mjs), rebuilding it first when the source changed.
import { compiledEntry } from '../scripts/build.mjs';

await import(await compiledEntry());
