// What each worker can do, advertised in Redis: a key per worker that expires unless its
// heartbeat renews it (a killed worker disappears within the TTL), and a sorted set of ids.
// The controller reads it to route latency jobs (which host has a phone of this model) and to
// say what it is waiting for; `mnas devices --redis` lists it.
import type { Redis } from 'ioredis';

export interface WorkerDevice { serial: string; model: string; abi?: string }

export interface WorkerAd {
  id: string;
  host: string;
  pid: number;
  started: string;
  /** Child-training backend, or null for a latency-only worker. */
  backend: string | null;
  cores: number;
  /** Children trained at once, and intra-op threads each. */
  concurrency: number;
  threads: number;
  /** Latency targets it serves: "local", "adb:Pixel 4". */
  latency: string[];
  devices: WorkerDevice[];
  version: string;
  heartbeat: number;
}

export const HEARTBEAT_MS = 5000;
const TTL_MS = 3 * HEARTBEAT_MS;

const setKey = (prefix: string) => `${prefix}:workers`;
const adKey = (prefix: string, id: string) => `${prefix}:worker:${id}`;

export interface Registration {
  /** Publishes the ad now (it changed); the heartbeat republishes it anyway. */
  publish(): Promise<void>;
  /** Removes the ad and stops the heartbeat. */
  withdraw(): Promise<void>;
}

/** Publishes `ad` (read at each beat: changes to it are published) now and every HEARTBEAT_MS. */
export async function advertise(redis: Redis, prefix: string, ad: Omit<WorkerAd, 'heartbeat'>): Promise<Registration> {
  const beat = async () => {
    const now = Date.now();
    await redis.multi().set(adKey(prefix, ad.id), JSON.stringify({ ...ad, heartbeat: now }), 'PX', TTL_MS).zadd(setKey(prefix), now, ad.id).exec();
  };
  await beat();
  const timer = setInterval(() => { beat().catch(() => undefined); }, HEARTBEAT_MS);
  timer.unref();
  let withdrawn = false;
  return {
    publish: async () => { if (!withdrawn) await beat(); },
    withdraw: async () => {
      withdrawn = true;
      clearInterval(timer);
      await redis.multi().del(adKey(prefix, ad.id)).zrem(setKey(prefix), ad.id).exec().catch(() => undefined);
    },
  };
}

/** Live workers (heartbeat within the TTL), oldest first; forgets the ids of expired ones. */
export async function listWorkers(redis: Redis, prefix: string): Promise<WorkerAd[]> {
  const ids = await redis.zrange(setKey(prefix), 0, -1);
  if (ids.length === 0) return [];
  const values = await redis.mget(ids.map((id) => adKey(prefix, id)));
  const gone = ids.filter((_, i) => !values[i]);
  if (gone.length) await redis.zrem(setKey(prefix), ...gone);
  return values.filter((v): v is string => !!v).map((v) => JSON.parse(v) as WorkerAd);
}
