// The adb client: a thin layer over @devicefarmer/adbkit 3 talking to an adb server (local, or a
// remote one serving a phone farm). Discovery uses listDevices() + getProperties() (adbkit's
// listDevicesWithPaths misreads TCP devices). adbkit's `shell:` has no exit code, so every command
// we run ends with our own exit marker.
import * as net from 'node:net';
import * as crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import type { Duplex, Readable } from 'node:stream';
import * as adbkitModule from '@devicefarmer/adbkit';
import type { Client } from '@devicefarmer/adbkit';
import { AdbError, DeviceLostError, NoAdbServerError, NoDeviceError, OfflineError, UnauthorizedError } from './errors';
import { shQuote } from './quote';
import { fromProperties, parseProbe, parseThermal, PROBE_SCRIPT, sections, THERMAL_SCRIPT, type DeviceInfo } from './deviceInfo';

export interface AdbClientOptions {
  /** adb server host (default 127.0.0.1); a remote server serves its phones to us. */
  host?: string;
  /** adb server port (default 5037, or ANDROID_ADB_SERVER_PORT). */
  port?: number;
  /** adb binary used to start a local server when none runs (default `adb`). */
  bin?: string;
  /** Start a local server when none answers (default true for a local host). */
  startServer?: boolean;
}

export interface ShellResult { output: string; rc: number }

/** `HOST:PORT`, `HOST` or `:PORT` -> options. */
export function parseServerAddress(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d+))?$/.exec(s.trim());
  if (!m) throw new AdbError(`--adb ${s}: expected HOST:PORT, e.g. 192.168.1.20:5037`);
  const host = m[1] ?? (m[2] || '127.0.0.1');
  const port = m[3] ? Number(m[3]) : 5037;
  if (!(port > 0 && port < 65536)) throw new AdbError(`--adb ${s}: port must be 1-65535`);
  return { host, port };
}

type AdbStatic = { createClient(o: { host?: string; port?: number; bin?: string }): Client };
function adbStatic(): AdbStatic {
  // tsx/Node ESM sees the CommonJS exports object as `default`; an esbuild CJS bundle sees it directly.
  const m = adbkitModule as unknown as { Adb?: AdbStatic; default?: { Adb?: AdbStatic } & Partial<AdbStatic> };
  const adb = m.Adb ?? m.default?.Adb ?? (m.default as AdbStatic | undefined);
  if (!adb?.createClient) throw new AdbError('@devicefarmer/adbkit did not load: reinstall dependencies (npm ci)');
  return adb;
}

const isLocal = (host: string) => host === '127.0.0.1' || host === 'localhost' || host === '::1';

function readAll(stream: Duplex | Readable, timeoutMs: number): Promise<{ text: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => { stream.destroy(); resolve({ text: Buffer.concat(chunks).toString('utf8'), timedOut: true }); }, timeoutMs);
    stream.on('data', (c: Buffer) => chunks.push(Buffer.from(c)));
    stream.on('end', () => { clearTimeout(timer); resolve({ text: Buffer.concat(chunks).toString('utf8'), timedOut: false }); });
    stream.on('close', () => { clearTimeout(timer); resolve({ text: Buffer.concat(chunks).toString('utf8'), timedOut: false }); });
    stream.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

export class AdbClient {
  readonly host: string;
  readonly port: number;
  private readonly bin: string;
  private readonly startServer: boolean;
  private client?: Client;
  private serverChecked?: Promise<void>;

  constructor(opts: AdbClientOptions = {}) {
    // MNAS_ADB_HOST / MNAS_ADB_PORT: set by the VS Code extension from its adb settings.
    this.host = opts.host ?? process.env.MNAS_ADB_HOST ?? '127.0.0.1';
    this.port = opts.port ?? (Number(process.env.MNAS_ADB_PORT) || Number(process.env.ANDROID_ADB_SERVER_PORT) || 5037);
    this.bin = opts.bin ?? 'adb';
    this.startServer = opts.startServer ?? isLocal(this.host);
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  private where(): string {
    return isLocal(this.host) && this.port === 5037 ? '' : this.address;
  }

  private probe(): Promise<boolean> {
    return new Promise((resolve) => {
      const s = net.connect({ host: this.host, port: this.port });
      const done = (ok: boolean) => { s.destroy(); resolve(ok); };
      s.setTimeout(3000, () => done(false));
      s.once('connect', () => done(true));
      s.once('error', () => done(false));
    });
  }

  /** Connects to the server, starting a local one if allowed; clear error otherwise. */
  private ensureServer(): Promise<void> {
    this.serverChecked ??= (async () => {
      if (await this.probe()) return;
      if (!this.startServer) throw new NoAdbServerError(this.address, 'nothing answers on that port');
      await new Promise<void>((resolve, reject) => {
        execFile(this.bin, ['-P', String(this.port), 'start-server'], { timeout: 30000 }, (err) => {
          if (!err) return resolve();
          const code = (err as NodeJS.ErrnoException).code;
          reject(new NoAdbServerError(this.where(), code === 'ENOENT' ? `\`${this.bin}\` is not on PATH; on Debian/Ubuntu: apt-get install adb` : err.message));
        });
      });
      if (!(await this.probe())) throw new NoAdbServerError(this.where(), 'started it, but nothing answers');
    })();
    this.serverChecked.catch(() => { this.serverChecked = undefined; });
    return this.serverChecked;
  }

  private async adb(): Promise<Client> {
    await this.ensureServer();
    this.client ??= adbStatic().createClient({ host: this.host, port: this.port, bin: this.bin });
    return this.client;
  }

  /** Serial and state of every device the server knows. */
  async listStates(): Promise<{ serial: string; state: string }[]> {
    const c = await this.adb();
    try {
      return ((await c.listDevices()) as { id: string; type: string }[]).map((d) => ({ serial: d.id, state: d.type }));
    } catch (e) {
      throw new NoAdbServerError(this.where(), (e as Error).message);
    }
  }

  /** Every device with its details (details only for devices in state `device`). */
  async listDevices(): Promise<DeviceInfo[]> {
    const states = await this.listStates();
    return Promise.all(states.map(async ({ serial, state }) => {
      if (state !== 'device') {
        return { serial, state, message: state === 'unauthorized' ? new UnauthorizedError(serial).message : state === 'offline' ? new OfflineError(serial).message : undefined };
      }
      try {
        return await this.describe(serial, state);
      } catch (e) {
        return { serial, state, message: (e as Error).message };
      }
    }));
  }

  async describe(serial: string, state = 'device'): Promise<DeviceInfo> {
    const c = await this.adb();
    const props = await c.getDevice(serial).getProperties();
    const probe = await this.shell(serial, PROBE_SCRIPT, { timeoutMs: 20000 });
    return { serial, state, ...fromProperties(props as Record<string, string>), ...parseProbe(probe.output) };
  }

  /** The device, checked to be ready; clear errors for missing, unauthorized and offline devices. */
  async requireDevice(serial: string): Promise<DeviceInfo> {
    const states = await this.listStates();
    const found = states.find((d) => d.serial === serial);
    if (!found) throw new NoDeviceError(serial, states.map((d) => `${d.serial} (${d.state})`));
    if (found.state === 'unauthorized') throw new UnauthorizedError(serial);
    if (found.state === 'offline') throw new OfflineError(serial);
    if (found.state !== 'device') throw new AdbError(`device ${serial} is ${found.state}: it must be in state \`device\``);
    return this.describe(serial, found.state);
  }

  /** Runs a command line (already quoted) with `shell:`, merged stdout/stderr, and its exit status. */
  async shell(serial: string, command: string, opts: { timeoutMs?: number } = {}): Promise<ShellResult> {
    const c = await this.adb();
    const marker = `__MNAS_RC_${crypto.randomBytes(4).toString('hex')}=`;
    let stream: Duplex;
    try {
      stream = await c.getDevice(serial).shell(`${command}; echo "${marker}$?"`);
    } catch (e) {
      throw await this.explain(serial, e as Error);
    }
    const { text, timedOut } = await readAll(stream, opts.timeoutMs ?? 15 * 60 * 1000);
    const at = text.lastIndexOf(marker);
    if (at < 0) {
      const state = await this.stateOf(serial);
      if (state !== 'device') throw new DeviceLostError(serial, `the command stopped without an exit status and the device is now ${state ?? 'gone'}`);
      if (timedOut) throw new AdbError(`device ${serial}: \`${command.slice(0, 120)}\` timed out`);
      throw new AdbError(`device ${serial}: the command ended without an exit status (output: ${text.trim().slice(-300) || 'none'})`);
    }
    return { output: text.slice(0, at), rc: Number(/^\d+/.exec(text.slice(at + marker.length))?.[0] ?? 255) };
  }

  async stateOf(serial: string): Promise<string | undefined> {
    try {
      return (await this.listStates()).find((d) => d.serial === serial)?.state;
    } catch {
      return undefined;
    }
  }

  /** Maps an adbkit failure to a clear error (gone, unauthorized, offline). */
  private async explain(serial: string, e: Error): Promise<Error> {
    if (e instanceof AdbError) return e;
    const state = await this.stateOf(serial);
    if (state === undefined) return new DeviceLostError(serial, e.message);
    if (state === 'unauthorized') return new UnauthorizedError(serial);
    if (state === 'offline') return new DeviceLostError(serial, `it is offline (${e.message})`);
    return new AdbError(`device ${serial}: ${e.message}`);
  }

  /** Pushes a local file or buffer with the sync service. */
  async push(serial: string, contents: string | Readable, remotePath: string, mode = 0o644): Promise<void> {
    const c = await this.adb();
    try {
      const transfer = await c.getDevice(serial).push(contents, remotePath, mode);
      await new Promise<void>((resolve, reject) => {
        transfer.on('end', () => resolve());
        transfer.on('error', reject);
      });
    } catch (e) {
      throw await this.explain(serial, e as Error);
    }
  }

  /** sha256 of a device file, or undefined when missing (or sha256sum is unavailable). */
  async sha256(serial: string, remotePath: string): Promise<string | undefined> {
    const r = await this.shell(serial, `sha256sum ${shQuote(remotePath)} 2>/dev/null`);
    const m = /^([0-9a-f]{64})\b/m.exec(r.output);
    return r.rc === 0 && m ? m[1] : undefined;
  }

  async thermalC(serial: string): Promise<number | undefined> {
    const r = await this.shell(serial, THERMAL_SCRIPT, { timeoutMs: 20000 });
    return parseThermal(sections(r.output)).thermalC;
  }

  /** `adb connect HOST:PORT` through the server. */
  async connect(host: string, port: number): Promise<string> {
    const c = await this.adb();
    return c.connect(host, port);
  }

  close(): void {
    this.client = undefined;
  }
}
