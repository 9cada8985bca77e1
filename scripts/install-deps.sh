#!/usr/bin/env bash
# Installs every build and test dependency of Sluice from Debian 12 packages.
# Set SLUICE_SKIP_APT=1 to skip (e.g. when the packages are already installed and you are not root).
set -euo pipefail

PACKAGES=(cmake ninja-build g++ pkg-config libtbb-dev librocksdb-dev libfmt-dev libgtest-dev
  libgmock-dev libcli11-dev libasio-dev libbenchmark-dev zlib1g-dev libsnappy-dev liblz4-dev
  libzstd-dev librdkafka-dev kcat python3-kafka python3-confluent-kafka python3-snappy python3-lz4
  python3-zstandard libssl-dev openssl libsimdjson-dev
  clang-format default-jdk-headless maven redis-server redis-tools
  chromium)

if [[ "${SLUICE_SKIP_APT:-0}" == "1" ]]; then
  echo "install-deps: SLUICE_SKIP_APT=1, not installing packages" >&2
  exit 0
fi
SUDO=()
if [[ "$(id -u)" != "0" ]]; then
  if ! command -v sudo > /dev/null; then
    echo "install-deps: run as root (or install sudo) to apt-get install: ${PACKAGES[*]}" >&2
    exit 1
  fi
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  "${PACKAGES[@]}"
