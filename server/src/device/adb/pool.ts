// A pool of phones of one model: latency jobs are spread over every connected device of that model
// (one job per device at a time). A device that disappears mid-job is dropped from the pool and its
// job goes back to the front of the queue for another device; the run goes on as long as one
// device is left. An unauthorized device is reported with what to do.
import type { AdbClient } from './client';
import type { DeviceInfo } from './deviceInfo';
import { AdbError, DeviceLostError, NoDeviceError, OfflineError, UnauthorizedError } from './errors';
import { bench, type BenchOptions, type BenchResult } from './bench';

export interface PoolOptions {
  /** The model of phone to use (ro.product.model); default: the model of `serial`. */
  model?: string;
  /** A phone to start from; its model picks the pool. */
  serial?: string;
  /** Only these serials (default: every connected device of the model). */
  only?: string[];
  /** A job is tried on at most this many devices (default 3). */
  maxAttempts?: number;
  log?: (message: string) => void;
}

export interface PoolEvent { type: 'start' | 'requeue' | 'lost' | 'done'; serial: string; job: number; detail?: string }

interface Job<T> {
  id: number;
  run: (device: DeviceInfo) => Promise<T>;
  resolve: (v: T) => void;
  reject: (e: Error) => void;
  attempts: number;
  triedOn: string[];
}

export class DevicePool {
  private readonly idle: DeviceInfo[] = [];
  private readonly busy = new Set<string>();
  private readonly lost = new Set<string>();
  private readonly queue: Job<unknown>[] = [];
  private nextJob = 1;
  readonly events: PoolEvent[] = [];
  onEvent?: (e: PoolEvent) => void;

  private constructor(readonly client: AdbClient, readonly model: string, readonly devices: DeviceInfo[], private readonly opts: PoolOptions) {
    this.idle.push(...devices);
  }

  /** Discovers the devices: every connected device of the model (of `serial`, or `model`). */
  static async open(client: AdbClient, opts: PoolOptions): Promise<DevicePool> {
    const all = await client.listDevices();
    let model = opts.model;
    if (opts.serial) {
      const d = all.find((x) => x.serial === opts.serial);
      if (!d) throw new NoDeviceError(opts.serial, all.map((x) => `${x.serial} (${x.state})`));
      if (d.state === 'unauthorized') throw new UnauthorizedError(d.serial);
      if (d.state === 'offline') throw new OfflineError(d.serial);
      if (d.state !== 'device' || !d.model) throw new AdbError(`device ${d.serial} is not usable: ${d.message ?? d.state}`);
      model ??= d.model;
    }
    if (!model) throw new AdbError('a device pool needs a serial or a phone model');
    const same = all.filter((d) => d.model === model && (!opts.only || opts.only.includes(d.serial)));
    const ready = same.filter((d) => d.state === 'device');
    for (const d of all.filter((x) => x.state === 'unauthorized')) opts.log?.(new UnauthorizedError(d.serial).message);
    if (ready.length === 0) {
      const unauthorized = all.filter((d) => d.state === 'unauthorized');
      if (unauthorized.length) throw new UnauthorizedError(unauthorized.map((d) => d.serial).join(', '));
      throw new NoDeviceError(`of model ${model}`, all.map((x) => `${x.serial} (${x.model ?? x.state})`));
    }
    return new DevicePool(client, model, ready, opts);
  }

  get size(): number {
    return this.idle.length + this.busy.size;
  }

  /** Runs `run` on a free device of the pool; requeued on another device if this one disappears. */
  submit<T>(run: (device: DeviceInfo) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ id: this.nextJob++, run, resolve, reject, attempts: 0, triedOn: [] } as unknown as Job<unknown>);
      this.dispatch();
    });
  }

  /** Benchmarks one .tflite file on the pool. */
  bench(modelPath: string, opts: BenchOptions = {}): Promise<BenchResult> {
    return this.submit((d) => bench(this.client, d.serial, modelPath, { log: this.opts.log, ...opts }, d));
  }

  private emit(e: PoolEvent): void {
    this.events.push(e);
    this.onEvent?.(e);
    if (e.type === 'requeue' || e.type === 'lost') this.opts.log?.(`job ${e.job}: ${e.type} (${e.serial}${e.detail ? `: ${e.detail}` : ''})`);
  }

  private dispatch(): void {
    while (this.queue.length && this.idle.length) {
      const job = this.queue.shift()!;
      const device = this.idle.shift()!;
      this.busy.add(device.serial);
      job.attempts++;
      job.triedOn.push(device.serial);
      this.emit({ type: 'start', serial: device.serial, job: job.id });
      job.run(device).then(
        (v) => {
          this.busy.delete(device.serial);
          this.idle.push(device);
          this.emit({ type: 'done', serial: device.serial, job: job.id });
          job.resolve(v);
          this.dispatch();
        },
        (e: Error) => {
          this.busy.delete(device.serial);
          if (e instanceof DeviceLostError) {
            this.lost.add(device.serial);
            this.emit({ type: 'lost', serial: device.serial, job: job.id, detail: e.message });
            if (job.attempts < (this.opts.maxAttempts ?? 3) && this.size > 0) {
              this.emit({ type: 'requeue', serial: device.serial, job: job.id });
              this.queue.unshift(job);
            } else {
              job.reject(this.size > 0 ? e : new AdbError(`every ${this.model} of the pool went away (${[...this.lost].join(', ')}); last: ${e.message}`));
            }
          } else {
            this.idle.push(device);
            job.reject(e);
          }
          if (this.size === 0) this.failQueued();
          this.dispatch();
        },
      );
    }
  }

  private failQueued(): void {
    for (const job of this.queue.splice(0)) job.reject(new AdbError(`every ${this.model} of the pool went away (${[...this.lost].join(', ')})`));
  }
}
