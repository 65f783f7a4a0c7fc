// The adb backend's errors: each message says what to do about it.

export class AdbError extends Error {}

export class NoAdbServerError extends AdbError {
  constructor(where: string, detail: string) {
    super(`no adb server${where ? ` at ${where}` : ''}: is adb installed? run \`adb start-server\`${where ? ` on that host (or \`adb -a -P PORT nodaemon server\` to serve a phone farm)` : ''} (${detail})`);
  }
}

export class NoDeviceError extends AdbError {
  constructor(serial: string, connected: string[]) {
    super(`no device ${serial}: connected are ${connected.length ? connected.join(', ') : 'none (plug in a phone with USB debugging on, or `adb connect HOST:PORT`)'}`);
  }
}

export class UnauthorizedError extends AdbError {
  constructor(readonly serial: string) {
    super(`device ${serial} is unauthorized: accept the USB debugging prompt on the phone`);
  }
}

export class OfflineError extends AdbError {
  constructor(readonly serial: string) {
    super(`device ${serial} is offline: reconnect it (replug the cable, or \`adb reconnect\`)`);
  }
}

/** The device went away during a job (unplugged, adbd died, Wi-Fi dropped): the job can run elsewhere. */
export class DeviceLostError extends AdbError {
  constructor(readonly serial: string, detail: string) {
    super(`device ${serial} went away: ${detail}`);
  }
}
