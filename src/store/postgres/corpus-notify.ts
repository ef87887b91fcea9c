// The dedicated LISTEN connection on which every Airlock process hears the corpus generations others commit (each
// corpus write NOTIFYs its generation in its own transaction). It reconnects by itself; notifications sent while it was
// down are lost, so after reconnecting it reports the committed generation read afresh.
import pg from 'pg';

export const CORPUS_CHANNEL = 'airlock_corpus';

const RECONNECT_MS = 1_000;

export interface CommitListener {
  close(): Promise<void>;
}

export async function listenForCommits(
  url: string,
  onGeneration: (generation: number) => void,
  onError: (error: unknown) => void,
  currentGeneration: () => Promise<number>,
): Promise<CommitListener> {
  let closed = false;
  let listener: pg.Client | null = null;
  let reconnectTimer: NodeJS.Timeout | null = null;

  async function listen(): Promise<void> {
    const client = new pg.Client({ connectionString: url, application_name: 'airlock-corpus-listener' });
    const retry = (error?: unknown): void => {
      if (error !== undefined) onError(error);
      if (listener === client) listener = null;
      client.removeAllListeners();
      client.on('error', () => undefined);
      void client.end().catch(() => undefined);
      if (closed || reconnectTimer !== null) return;
      reconnectTimer = setTimeout(() => {
        reconnectTimer = null;
        listen().then(() => currentGeneration().then(onGeneration, onError), retry);
      }, RECONNECT_MS);
      reconnectTimer.unref();
    };
    client.on('notification', (message) => {
      const generation = Number(message.payload);
      if (Number.isSafeInteger(generation)) onGeneration(generation);
    });
    client.on('error', retry);
    client.on('end', () => retry());
    await client.connect();
    await client.query(`LISTEN ${CORPUS_CHANNEL}`);
    listener = client;
  }

  await listen();
  return {
    async close() {
      closed = true;
      if (reconnectTimer !== null) clearTimeout(reconnectTimer);
      const client = listener;
      listener = null;
      if (client !== null) {
        client.removeAllListeners();
        client.on('error', () => undefined);
        await client.end().catch(() => undefined);
      }
    },
  };
}
