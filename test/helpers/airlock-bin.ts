// The `airlock` binary from the TypeScript sources (bin/airlock.js runs the built dist/), for tests that need a real
// process: a closed stdout pipe, a different working directory.
import { runCli } from '../../src/cli/main.js';

process.exitCode = await runCli(process.argv.slice(2), process.env, process.stdout, process.stderr);
