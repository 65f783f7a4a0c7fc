// The Redis connection of the queue: a `redis://` or `rediss://` URL (user, password, db, TLS)
// turned into ioredis options, with the TLS files and the password that should not sit in a
// command line (ps shows it) taken from options or the environment. Every connection retries
// forever with a capped backoff and holds commands while Redis is away, so a Redis restart
// pauses a search or a worker instead of failing it.
import * as fs from 'node:fs';
import * as net from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';

export interface RedisSettings {
  /** redis://[user:password@]host[:port][/db] or rediss://… (TLS). Default MNAS_REDIS_URL. */
  url?: string;
  /** CA bundle (PEM) for a TLS server with a private CA. */
  tlsCa?: string;
  /** Client certificate and key (PEM) for servers that require them. */
  tlsCert?: string;
  tlsKey?: string;
  /** BullMQ key prefix; runs with different prefixes share a Redis without seeing each other. */
  prefix?: string;
}

export class QueueConfigError extends Error {}

export const DEFAULT_PREFIX = 'mnas';

/** The URL with its password replaced by ***: safe for logs, errors and run.json. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    // Not a URL (a raw '/' or '%' in the password): hide everything up to the last '@'.
    return url.replace(/\/\/([^:@/]*):.*@/, '//$1:***@');
  }
}

export function resolveUrl(settings: RedisSettings, env: NodeJS.ProcessEnv = process.env): string {
  const url = settings.url ?? env.MNAS_REDIS_URL;
  if (!url) throw new QueueConfigError('no Redis URL: pass --redis redis://HOST:6379 (or set MNAS_REDIS_URL).');
  return url;
}

/** ioredis options for the URL: one place that knows TLS, auth, db and the retry policy. */
export function redisOptions(settings: RedisSettings, env: NodeJS.ProcessEnv = process.env): RedisOptions {
  const url = resolveUrl(settings, env);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new QueueConfigError(`Redis URL ${redactUrl(url)} is not a URL: write redis://HOST:6379, redis://:PASSWORD@HOST:6379/0 or rediss://HOST:6380 for TLS.`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new QueueConfigError(`Redis URL ${redactUrl(url)}: the scheme must be redis:// or rediss:// (TLS), not ${u.protocol}//.`);
  }
  const db = u.pathname.replace(/^\//, '');
  if (db && !/^\d+$/.test(db)) throw new QueueConfigError(`Redis URL ${redactUrl(url)}: the path is the database number (e.g. /0), got /${db}.`);
  const decode = (v: string, what: string) => {
    try {
      return decodeURIComponent(v);
    } catch {
      throw new QueueConfigError(`Redis URL ${redactUrl(url)}: the ${what} has a bare %; write it as %25, or set the password in MNAS_REDIS_PASSWORD.`);
    }
  };
  const password = u.password ? decode(u.password, 'password') : env.MNAS_REDIS_PASSWORD || undefined;
  const opts: RedisOptions = {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    username: u.username ? decode(u.username, 'user name') : undefined,
    password,
    db: db ? Number(db) : 0,
    // BullMQ's blocking connections need this; it also makes commands wait out a restart.
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
  };
  const tlsFiles = settings.tlsCa || settings.tlsCert || settings.tlsKey;
  if (u.protocol === 'rediss:' || tlsFiles) {
    const read = (file: string | undefined, what: string) => {
      if (!file) return undefined;
      try {
        return fs.readFileSync(file);
      } catch (e) {
        throw new QueueConfigError(`--redis-${what} ${file}: ${(e as Error).message}`);
      }
    };
    // SNI takes host names only (RFC 6066), not addresses.
    opts.tls = { servername: net.isIP(opts.host!) ? undefined : opts.host, ca: read(settings.tlsCa, 'tls-ca'), cert: read(settings.tlsCert, 'tls-cert'), key: read(settings.tlsKey, 'tls-key') };
  }
  return opts;
}

export function prefixOf(settings: RedisSettings): string {
  const prefix = settings.prefix ?? DEFAULT_PREFIX;
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(prefix)) throw new QueueConfigError(`--queue-prefix ${prefix}: letters, digits, _ . - only (it becomes part of Redis keys).`);
  return prefix;
}

/**
 * A connected, authenticated client, or a QueueConfigError that says what to fix (the server is
 * down, wants a password, refused it, or its TLS certificate is not trusted). `flag` names the
 * command-line option of the URL (--redis, --queue).
 */
export async function connectRedis(settings: RedisSettings, flag: string, extra: RedisOptions = {}): Promise<Redis> {
  const where = redactUrl(resolveUrl(settings));
  // While connecting: one try, so a bad password or certificate fails now instead of retrying forever.
  const redis = new Redis({ ...redisOptions(settings), ...extra, lazyConnect: true, retryStrategy: () => null });
  let last: Error | undefined;
  const onError = (e: Error) => { last = e; };
  redis.on('error', onError);
  try {
    await redis.connect();
    await redis.ping();
  } catch (e) {
    redis.disconnect();
    const why = (last ?? (e as Error)).message.replace(/\.+$/, '');
    let fix = `start it (redis-server) or check ${flag}`;
    if (/NOAUTH/.test(why)) fix = 'it wants a password: put it in the URL (redis://:PASSWORD@HOST) or in MNAS_REDIS_PASSWORD';
    else if (/WRONGPASS|invalid password|invalid username-password/i.test(why)) fix = 'the user name or password was refused';
    else if (/certificate|self[- ]signed|SSL|TLS/i.test(why)) fix = 'the TLS certificate is not trusted: pass the CA with --redis-tls-ca FILE';
    throw new QueueConfigError(`cannot reach Redis at ${where}: ${why}; ${fix}.`);
  }
  redis.off('error', onError);
  // From now on, reconnect forever (a restart pauses the run).
  redis.options.retryStrategy = redisOptions(settings).retryStrategy;
  return redis;
}

/**
 * Calls `say(message)` once when Redis goes away (with why) and once when it is back: a client
 * reconnecting forever reports each try, which nobody wants to read.
 */
export function reportOutages(redis: Redis, say: (down: boolean, why: string) => void): void {
  let down = false;
  redis.on('error', (e: Error) => {
    if (down) return;
    down = true;
    say(true, e.message);
  });
  redis.on('ready', () => {
    if (down) say(false, '');
    down = false;
  });
}
