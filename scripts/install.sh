#!/usr/bin/env bash
# Install devteam and everything a run needs, on a fresh Debian/Ubuntu machine or an existing one.
#
#   bash scripts/install.sh           package + embedded model support, Docker, sandbox image, model
#   bash scripts/install.sh --dev     the same, plus the test and lint tools, tmux and test data
#                                     (GitHub's webhook examples from npm, for the bot's tests)
#
# Options: --dev, --no-docker (skip engine and image), --no-model (skip the model download).
# Environment: DEVTEAM_VENV (default .venv), DEVTEAM_WHEEL_DIR (a folder of prebuilt wheels,
# e.g. llama-cpp-python, used before compiling from source), PYTHON (default python3).
# Each step is skipped when already done, so running it again is cheap.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=${DEVTEAM_VENV:-.venv}
PYTHON=${PYTHON:-python3}
EXTRAS=local
WANT_DOCKER=1
WANT_MODEL=1
for arg in "$@"; do
  case "$arg" in
    --dev) EXTRAS=local,dev ;;
    --no-docker) WANT_DOCKER=0 ;;
    --no-model) WANT_MODEL=0 ;;
    *) echo "install.sh: unknown option $arg (use --dev, --no-docker, --no-model)" >&2; exit 2 ;;
  esac
done

step() { printf '\n==> %s\n' "$*"; }
t0=$(date +%s)
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
apt_install() {
  command -v apt-get >/dev/null || { echo "install.sh: $* is missing and this is not a Debian-like system; install it by hand." >&2; return 1; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# -- 1. Python package -----------------------------------------------------------------
step "Python package into $VENV (extras: $EXTRAS)"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "install.sh: devteam needs Python 3.11 or newer; set PYTHON=/path/to/python3.11." >&2; exit 1; }
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP_ARGS=(-q)
if [ -n "${DEVTEAM_WHEEL_DIR:-}" ] && [ -d "$DEVTEAM_WHEEL_DIR" ]; then
  PIP_ARGS+=(--find-links "$DEVTEAM_WHEEL_DIR")
  echo "using prebuilt wheels from $DEVTEAM_WHEEL_DIR"
else
  echo "(no prebuilt wheels given: llama-cpp-python may compile from source, about 6-7 minutes on 2 cores)"
fi
command -v cmake >/dev/null || command -v gcc >/dev/null || apt_install build-essential cmake || true
"$VENV/bin/python" -m pip install "${PIP_ARGS[@]}" --upgrade pip >/dev/null
"$VENV/bin/python" -m pip install "${PIP_ARGS[@]}" -e ".[$EXTRAS]"
echo "devteam $("$VENV/bin/devteam" version) installed ($(( $(date +%s) - t0 ))s so far)"

# -- 2. Docker engine and the sandbox image --------------------------------------------
if [ "$WANT_DOCKER" = 1 ]; then
  step "Docker engine"
  if ! command -v docker >/dev/null || ! command -v dockerd >/dev/null; then
    apt_install docker.io || { echo "install.sh: could not install Docker; install docker.io (or Docker CE) and rerun." >&2; exit 1; }
  fi
  if ! docker info >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
      echo "starting dockerd in the background (log: /var/log/devteam-dockerd.log)"
      nohup dockerd >/var/log/devteam-dockerd.log 2>&1 &
      for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    fi
    docker info >/dev/null 2>&1 || {
      echo "install.sh: the Docker engine is not running; start it (e.g. 'sudo systemctl start docker' or 'sudo dockerd &') and rerun." >&2; exit 1; }
  fi
  echo "docker engine $(docker info --format '{{.ServerVersion}}') is up"

  step "Sandbox image"
  command -v debootstrap >/dev/null || apt_install debootstrap || true
  "$VENV/bin/python" -c 'from devteam.config import load_settings
from devteam.sandbox import ensure_image
built = ensure_image(load_settings().sandbox, print)
print("sandbox image built" if built else "sandbox image already present")'
fi

# -- 3. Embedded model -----------------------------------------------------------------
if [ "$WANT_MODEL" = 1 ]; then
  step "Embedded model (verified by sha256)"
  "$VENV/bin/devteam" models fetch
  # the test suite runs the smaller model (the default is the 1.5B)
  if [ "$EXTRAS" = local,dev ]; then "$VENV/bin/devteam" models fetch qwen2.5-coder-0.5b; fi
fi

# -- 4. Test data of the GitHub bot (--dev) ----------------------------------------------
# GitHub's own example webhook payloads, unmodified, for tests/github (npm package).
if [ "$EXTRAS" = local,dev ]; then
  step "GitHub webhook examples (npm @octokit/webhooks-examples) for the bot's tests"
  NPM_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/devteam/npm"
  if [ ! -f "$NPM_DIR/node_modules/@octokit/webhooks-examples/api.github.com/index.json" ]; then
    command -v npm >/dev/null || apt_install npm || echo "install.sh: npm is missing; the bot's tests will skip (or fail under CI)." >&2
    if command -v npm >/dev/null; then
      mkdir -p "$NPM_DIR"
      npm install --silent --no-audit --no-fund --prefix "$NPM_DIR" @octokit/webhooks-examples@7.6.1 ||
        echo "install.sh: could not install @octokit/webhooks-examples; the bot's tests will skip (or fail under CI)." >&2
    fi
  fi
  echo "webhook examples: $NPM_DIR/node_modules/@octokit/webhooks-examples"
  step "Chromium (headless) for the run report's browser test"
  command -v chromium >/dev/null || apt_install chromium ||
    echo "install.sh: chromium is missing; the report's browser test will skip (or fail under CI)." >&2
  step "tmux (the terminal view's test drives the real CLI in it)"
  command -v tmux >/dev/null || apt_install tmux ||
    echo "install.sh: could not install tmux; the terminal view test will skip (or fail under CI)." >&2
  echo "tmux: $(command -v tmux || echo missing)"
fi

step "Done in $(( $(date +%s) - t0 ))s. Try: $VENV/bin/devteam run \"Write a Python module ... with pytest tests\""
