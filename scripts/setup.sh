#!/usr/bin/env bash
# Installs everything Holdfast needs to build, run and test, from Debian's
# package archive only. Idempotent: safe to run again; it installs only what is
# missing. Run as root (or with sudo available).
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  # libraries (see DESIGN.md "Dependencies")
  libboost1.81-dev libisal-dev libssl-dev libxxhash-dev libsqlite3-dev
  nlohmann-json3-dev libcli11-dev libfmt-dev libpugixml-dev libargon2-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # real S3 clients and the test runner for end-to-end tests
  awscli rclone s3cmd s3fs fuse python3 python3-boto3 python3-pytest sqlite3 procps
  # e2e tests recompute shard checksums (XXH3) independently of the node
  python3-xxhash
  # the independent notice-ledger verifier (tools/ledger_verify.py) and its e2e test
  python3-nacl
  # the web application's browser tests (tests/web/): headless Chromium and a font to render with
  chromium fonts-dejavu-core
)

# node and npm build the web application (web/, docs/web.md). Debian 12's
# nodejs 18 is enough; a machine that already has a node (e.g. NodeSource's,
# which bundles its own npm) keeps it, so each is installed only when missing.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi

# The web application's npm packages, exactly as web/package-lock.json pins
# them. Again only when needed: node_modules is missing or older than the
# lock file (npm writes node_modules/.package-lock.json on every install).
web_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/web"
if [ ! -f "$web_dir/node_modules/.package-lock.json" ] ||
   [ "$web_dir/package-lock.json" -nt "$web_dir/node_modules/.package-lock.json" ]; then
  echo "setup: npm ci in web/"
  (cd "$web_dir" && npm ci --no-audit --no-fund --loglevel=error)
else
  echo "setup: web/node_modules is up to date"
fi
