#!/usr/bin/env bash
# One-command set-up (`npm run setup`; `npm run quickstart` runs it, then the quickstart search):
# installs the system packages mnas needs that are missing, with apt where apt is available
# (through sudo when not root), says what to install by hand elsewhere, then `npm ci` when
# node_modules is missing or older than package-lock.json.
#
#   --dev      also what the test suites need (CI: .ci/run uses this)
#   --fresh    plan as on a fresh machine: every package, installed or not (with --dry-run)
#   --dry-run  print the commands it would run, run nothing
#
# The system Python (/usr/bin/python3) is what Debian's python3-torch installs into and what mnas
# tries first (server/src/platform/python.ts); MNAS_PYTHON names another interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0 fresh=0 dry=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    --fresh) fresh=1 ;;
    --dry-run) dry=1 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup: unknown option $arg (known: --dev, --fresh, --dry-run)" >&2; exit 2 ;;
  esac
done
say() { echo "setup: $*"; }

PY="${MNAS_PYTHON:-/usr/bin/python3}"
has_module() { [ "$fresh" = 0 ] && "$PY" -c "import $1" >/dev/null 2>&1; }
has_command() { [ "$fresh" = 0 ] && command -v "$1" >/dev/null 2>&1; }
has_package() { [ "$fresh" = 0 ] && dpkg -s "$1" >/dev/null 2>&1; }

# Each missing package: its apt name, and what to install where there is no apt.
need=() by_hand=()
want() { need+=("$1"); by_hand+=("$2"); }
# PyTorch (CPU) trains the child networks; NumPy feeds it.
has_module torch || want python3-torch "PyTorch (CPU) for Python 3 (pip install torch)"
has_module numpy || want python3-numpy "NumPy for Python 3 (pip install numpy)"
# Fashion-MNIST for `dataset fashion-mnist` (IDX files; `dataset idx "FOLDER"` reads any copy).
has_package dataset-fashion-mnist || want dataset-fashion-mnist "the Fashion-MNIST IDX files, read with dataset idx \"FOLDER\""
# adb talks to phones for on-device latency (mnas devices, bench, calibrate).
has_command adb || want adb "Android platform-tools (adb), for phones"
if [ "$dev" = 1 ]; then
  # scikit-learn fits the search-quality surrogate (bench/lib/surrogate.py; tested in test:python).
  has_module sklearn || want python3-sklearn "scikit-learn for Python 3"
  { has_command mypy || has_module mypy; } || want mypy "mypy"
  # The distributed-evaluation tests start their own redis-server; openssl makes the TLS test's CA;
  # ip netns makes a second "host" for the remote-worker test.
  has_command redis-server || want redis-server "redis-server"
  has_command openssl || want openssl "openssl"
  has_command ip || want iproute2 "iproute2 (ip)"
fi

if [ ${#need[@]} -eq 0 ]; then
  say "system packages: all present"
elif command -v apt-get >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo="sudo "
    else
      say "missing ${need[*]}; installing them needs root and there is no sudo. As root run:"
      say "  apt-get update && apt-get install -y ${need[*]}"
      [ "$dry" = 1 ] && exit 0
      exit 1
    fi
  fi
  if [ "$dry" = 1 ]; then
    say "would run: ${sudo}apt-get update && ${sudo}apt-get install -y ${need[*]}"
  else
    say "installing ${need[*]} (apt)"
    export DEBIAN_FRONTEND=noninteractive
    ${sudo}apt-get update -qq
    ${sudo}apt-get install -y -qq "${need[@]}" >/dev/null
  fi
else
  say "no apt-get on this machine: install these yourself:"
  for item in "${by_hand[@]}"; do say "  - $item"; done
  say "then point MNAS_PYTHON at the Python that imports torch if it is not /usr/bin/python3."
  case " ${need[*]} " in
    *" python3-torch "*|*" python3-numpy "*) [ "$dry" = 1 ] || exit 1 ;;
  esac
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  if [ "$dry" = 1 ]; then say "would run: npm ci --no-audit --no-fund"; else npm ci --no-audit --no-fund; fi
else
  say "node_modules: up to date"
fi
[ "$dry" = 1 ] || say "ready: npx mnas search examples/search-quickstart.mnas runs the quickstart"
