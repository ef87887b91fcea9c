#!/usr/bin/env node
// The `airlock` command; the TypeScript sources are compiled to dist/ by `npm ci` (the prepare script).
import { runCli } from '../dist/src/cli/main.js';

process.exitCode = await runCli(process.argv.slice(2), process.env, process.stdout, process.stderr);
