#!/usr/bin/env bash
# Installs what the end-to-end suite (test/e2e, `npm run test:e2e`) needs, offline except for the
# npm registry and Debian packages: Debian's Chromium and code-server 4.100.3 (VS Code for the
# browser; 4.100.x is the last line that runs on Node 20). Idempotent: a complete install is
# detected by a stamp file and the script returns at once.
#
# code-server goes to $MNAS_E2E_DIR (default: ~/.cache/mnas-studio/e2e), outside the project's
# node_modules, so `npm ci` never removes it and CI can cache the folder.
# Its postinstall downloads ripgrep from the internet, which fails here, so it is replayed by hand
# (docs/extension.md, "Why code-server"): native modules are rebuilt against the local Node headers
# and Debian's rg stands in for @vscode/ripgrep.
#
# Prints the code-server binary path on its last line.
set -euo pipefail

VERSION=4.100.3
DIR="${MNAS_E2E_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mnas-studio/e2e}"
STAMP="$DIR/.installed-code-server-$VERSION"
CS="$DIR/node_modules/code-server"
log() { echo "setup-code-server: $*" >&2; }

export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v rg >/dev/null 2>&1 || need+=(ripgrep)
for p in libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  log "installing Debian packages: ${need[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ -f "$STAMP" ] && [ -f "$CS/out/node/entry.js" ]; then
  echo "$DIR/node_modules/.bin/code-server"
  exit 0
fi

# node-pty's install script calls `npx node-gyp`.
command -v node-gyp >/dev/null 2>&1 || { log "installing node-gyp"; npm install -g --no-audit --no-fund node-gyp >/dev/null; }

log "installing code-server $VERSION into $DIR (a few minutes, ~250 MB)"
mkdir -p "$DIR"
[ -f "$DIR/package.json" ] || echo '{ "name": "mnas-e2e-tools", "private": true }' > "$DIR/package.json"
# The project's .npmrc does not apply here (another folder); no peer-dependency pinning needed.
(cd "$DIR" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error "code-server@$VERSION")

log "replaying code-server's postinstall"
(
  cd "$CS/lib/vscode"
  npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
  npm rebuild kerberos @parcel/watcher @vscode/spdlog native-watchdog node-pty @vscode/deviceid --loglevel=error
  mkdir -p node_modules/@vscode/ripgrep/bin
  cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
  ln -sfn node_modules node_modules.asar
  (cd bin/remote-cli && ln -sfn code-linux.sh code-server)
  (cd bin/helpers && ln -sfn browser-linux.sh browser.sh)
  (cd extensions && npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
)
# argon2 (password hashing) is hoisted next to code-server; it builds from source (no prebuilt download).
(cd "$DIR" && npm rebuild argon2 --loglevel=error)
[ -n "$(find "$DIR/node_modules/argon2" -name argon2.node -print -quit)" ] || { log "argon2 did not build"; exit 1; }

touch "$STAMP"
log "done"
echo "$DIR/node_modules/.bin/code-server"
