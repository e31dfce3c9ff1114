#!/usr/bin/env bash
# Set up ServicePoint on a Debian machine and run it or its test suite.
#
#   bash scripts/bootstrap.sh up [servicepoint up options]   install, then run the stack
#   bash scripts/bootstrap.sh test [pytest options]          install test needs, run all tests
#
# Idempotent: system packages are installed only when missing, the virtualenv (.venv, or
# $SERVICEPOINT_VENV) is created once and the project is (re)installed into it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
venv="${SERVICEPOINT_VENV:-$here/.venv}"
mode="${1:-}"
[ $# -gt 0 ] && shift

# libtesseract-dev, libleptonica-dev, pkg-config, g++ and python3-dev: tesserocr (tesseract
# kept loaded through its C API) is built against the system's tesseract, the same engine
# and version as the tesseract command; its PyPI wheel bundles another tesseract release.
runtime_packages=(tesseract-ocr tesseract-ocr-deu tesseract-ocr-eng fonts-dejavu-core
                  fonts-liberation espeak-ng poppler-utils
                  libtesseract-dev libleptonica-dev pkg-config g++ python3-dev)
test_packages=(chromium fonts-dejavu-extra fonts-ocr-b fonts-dancingscript fonts-comic-neue nodejs npm
               postgresql nginx)

log() { printf '\033[1mbootstrap:\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root for: $*"; exit 1; fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$pkg")
  done
  # nodejs/npm may come from elsewhere on the machine: a working npm is enough.
  if command -v npm >/dev/null && command -v node >/dev/null; then
    local keep=()
    for pkg in "${missing[@]}"; do [[ "$pkg" == nodejs || "$pkg" == npm ]] || keep+=("$pkg"); done
    missing=("${keep[@]}")
  fi
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing system packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

python_env() {
  local python="${PYTHON:-python3}"
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    log "Python 3.11 or newer is needed ($python is $("$python" --version 2>&1))"; exit 1; }
  if [ ! -x "$venv/bin/python" ]; then
    log "creating virtualenv $venv"
    "$python" -m venv "$venv" 2>/dev/null || { apt_install python3-venv; "$python" -m venv "$venv"; }
  fi
  "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
  log "installing the project into $venv"
  local pip_log
  pip_log="$(mktemp)"
  if ! PIP_NO_BINARY=tesserocr "$venv/bin/python" -m pip install -q -e "$here$1" >"$pip_log" 2>&1; then
    grep -v '^WARNING: Location' "$pip_log" >&2 || true
    log "installing the project failed (see above)"
    exit 1
  fi
  rm -f "$pip_log"
}

case "$mode" in
  up)
    apt_install "${runtime_packages[@]}"
    python_env ""
    exec "$venv/bin/servicepoint" up "$@"
    ;;
  test)
    apt_install "${runtime_packages[@]}" "${test_packages[@]}"
    python_env "[test]"
    # axe-core for the accessibility checks, from the npm registry, kept outside the tree.
    axe_dir="${SERVICEPOINT_AXE_DIR:-$here/.cache/axe}"
    if [ ! -f "$axe_dir/node_modules/axe-core/axe.min.js" ]; then
      log "installing axe-core into $axe_dir"
      mkdir -p "$axe_dir"
      (cd "$axe_dir" && npm install --silent --no-audit --no-fund axe-core@4 >/dev/null)
    fi
    export SERVICEPOINT_AXE_JS="$axe_dir/node_modules/axe-core/axe.min.js"
    export SERVICEPOINT_CHROMIUM="${SERVICEPOINT_CHROMIUM:-/usr/bin/chromium}"
    # Two test processes (pytest-xdist), each with its own session: data directory,
    # Prefect server and PostgreSQL cluster. Most slow tests wait on Prefect and on
    # subprocesses, not on the cores. Whole files go to one process (their module
    # fixtures are set up once), the longest first (tests/conftest.py orders them);
    # ``-n 0`` after ``test`` runs everything in one process.
    exec "$venv/bin/python" -m pytest -n "${SERVICEPOINT_TEST_PROCESSES:-2}" \
      --dist loadfile --no-loadscope-reorder "$@"
    ;;
  *)
    echo "usage: bash scripts/bootstrap.sh up|test [options]" >&2
    exit 2
    ;;
esac
