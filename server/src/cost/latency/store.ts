// Finding and caching device profiles by name. `pixel1-published` is embedded in the bundle
// (imported JSON, so dist/server.cjs and dist/cli.cjs need no file next to them); other names
// resolve, in order, to: a path (anything with a slash or ending in .json), profiles/NAME.json
// in the workspace folder (`baseDir`), profiles/NAME.json shipped with the extension/CLI (found
// upwards from the code), then
// ~/.config/mnas-studio/profiles/NAME.json. Loaded profiles are validated once and cached
// (by path and mtime, so a re-calibrated file is picked up).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import builtinJson from '../../../../profiles/pixel1-published.json' with { type: 'json' };
import { findUp } from '../../platform/locate';
import { checkProfile, compile, type CompiledProfile, ProfileError, readProfile } from './profile';

export const BUILTIN_PROFILE = 'pixel1-published';
export const DEFAULT_PROFILE = BUILTIN_PROFILE;

export function userProfileDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'mnas-studio', 'profiles');
}

/** Where NAME would be read from, in order (for error messages and `resolveProfilePath`). */
export function profileCandidates(name: string, baseDir?: string): string[] {
  if (name.includes('/') || name.includes('\\') || name.endsWith('.json')) return [path.resolve(baseDir ?? process.cwd(), name)];
  const out: string[] = [];
  // The workspace's own profiles/ folder (the editor lists it too), then the shipped one.
  if (baseDir) out.push(path.resolve(baseDir, 'profiles', `${name}.json`));
  const shipped = findUp(path.join('profiles', `${name}.json`));
  if (shipped) out.push(path.join(shipped, 'profiles', `${name}.json`));
  out.push(path.join(userProfileDir(), `${name}.json`));
  return out;
}

let builtin: CompiledProfile | undefined;
const cache = new Map<string, { mtimeMs: number; compiled: CompiledProfile }>();

export function builtinProfile(): CompiledProfile {
  builtin ??= compile(checkProfile(builtinJson, `profiles/${BUILTIN_PROFILE}.json (built in)`));
  return builtin;
}

/** Loads (or returns the cached) profile NAME; throws ProfileError saying where it looked. */
export function loadProfile(name: string, baseDir?: string): CompiledProfile {
  const candidates = profileCandidates(name, baseDir);
  for (const file of candidates) {
    let st: fs.Stats;
    try { st = fs.statSync(file); } catch { continue; }
    const hit = cache.get(file);
    if (hit && hit.mtimeMs === st.mtimeMs) return hit.compiled;
    const compiled = compile(readProfile(file));
    cache.set(file, { mtimeMs: st.mtimeMs, compiled });
    return compiled;
  }
  if (name === BUILTIN_PROFILE) return builtinProfile();
  throw new ProfileError(`Device profile \`${name}\` not found (looked for ${candidates.join(', ')}). Use \`${BUILTIN_PROFILE}\`, a path to a profile JSON, or create one with \`mnas calibrate --device local --space FILE --out ${path.join(userProfileDir(), `${name}.json`)}\`.`);
}
