// A child's trained files (weights.pt, arch.json) travel back to the controller through Redis,
// so a queue run folder holds the same children/<id>/ files as a local one (export, open in the
// panel). The worker stores them under one key per job with a 7-day expiry and deletes its own
// copy; the controller writes them into the run folder and deletes the key.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Redis } from 'ioredis';

/** The only files that travel, by name (a result naming anything else is refused). */
export const ARTIFACTS = ['weights.pt', 'arch.json'] as const;
/** A full training's files (the checkpoint stays on the worker: it only serves a retry there). */
export const FULL_ARTIFACTS = ['weights-full.pt', 'weights-full-last.pt', 'arch-full.json'] as const;
/** Children this big keep their files on the worker (the journal names it). */
export const MAX_ARTIFACT_BYTES = 64 * 1024 * 1024;
const KEEP_SECONDS = 7 * 24 * 3600;

const keyOf = (prefix: string, jobId: string) => `${prefix}:artifacts:${jobId}`;

/** Uploads what of `allowed` (ARTIFACTS) is in `dir`; returns the names stored, or [] when too big. */
export async function uploadArtifacts(redis: Redis, prefix: string, jobId: string, dir: string, allowed: readonly string[] = ARTIFACTS): Promise<string[]> {
  const files = allowed.map((name) => path.join(dir, name)).filter((f) => fs.existsSync(f));
  const bytes = files.reduce((a, f) => a + fs.statSync(f).size, 0);
  if (files.length === 0 || bytes > MAX_ARTIFACT_BYTES) return [];
  const key = keyOf(prefix, jobId);
  const fields: Record<string, Buffer> = {};
  for (const f of files) fields[path.basename(f)] = fs.readFileSync(f);
  await redis.multi().del(key).hset(key, fields).expire(key, KEEP_SECONDS).exec();
  return Object.keys(fields);
}

/** Writes the job's stored files into `dir` and deletes them from Redis; the names that arrived. */
export async function downloadArtifacts(redis: Redis, prefix: string, jobId: string, names: readonly string[], dir: string,
                                        allowed: readonly string[] = ARTIFACTS): Promise<string[]> {
  const wanted = names.filter((n) => allowed.includes(n));
  if (wanted.length === 0) return [];
  const key = keyOf(prefix, jobId);
  const values = await redis.hmgetBuffer(key, ...wanted);
  fs.mkdirSync(dir, { recursive: true });
  const got: string[] = [];
  wanted.forEach((name, i) => {
    const v = values[i];
    if (!v) return;
    const tmp = path.join(dir, `.${name}.part`);
    fs.writeFileSync(tmp, v);
    fs.renameSync(tmp, path.join(dir, name));
    got.push(name);
  });
  await redis.del(key);
  return got;
}
