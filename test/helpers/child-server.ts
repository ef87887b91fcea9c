// Spawns test/helpers/child-server-main.ts in its own Node process (through tsx) and waits until it listens.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export interface ChildServer {
  readonly url: string;
  readonly process: ChildProcess;
  /** Resolves once the process has exited, whatever the reason. */
  readonly exited: Promise<void>;
  /** Sends the signal (SIGKILL for a crash) and waits for the exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

const MAIN = join(import.meta.dirname, 'child-server-main.ts');

export async function spawnChildServer(env: { dir: string; upstreamBaseURL: string; webhooks?: boolean; extra?: Record<string, string> }): Promise<ChildServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { ...process.env, ...env.extra, AIRLOCK_CHILD_DIR: env.dir, AIRLOCK_CHILD_UPSTREAM: env.upstreamBaseURL, AIRLOCK_CHILD_WEBHOOKS: env.webhooks === true ? '1' : '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const match = /listening (\d+)/.exec(stdout);
      if (match?.[1] !== undefined) resolve(Number(match[1]));
    });
    void exited.then(() => reject(new Error(`child server exited before listening: ${stderr.slice(0, 2000)}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    process: child,
    exited,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
