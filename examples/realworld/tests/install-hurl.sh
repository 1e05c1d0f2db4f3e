#!/usr/bin/env bash
# Installs Hurl, which runs RealWorld's API suite (tests/hurl_suite.rs),
# from crates.io: Debian's libcurl and libxml2 headers and libclang (the
# libxml bindings are generated at build time), then `cargo
# install` (8.0.1: the newest that builds with Rust 1.95). A build from
# source: a few minutes on two cores.
set -euo pipefail

HURL_VERSION="${HURL_VERSION:-8.0.1}"

if command -v hurl >/dev/null 2>&1 && hurl --version | head -1 | grep -q " $HURL_VERSION"; then
  echo "hurl $HURL_VERSION is already installed"
  exit 0
fi
if ! dpkg -s libcurl4-openssl-dev libxml2-dev libclang-dev pkg-config >/dev/null 2>&1; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y libcurl4-openssl-dev libxml2-dev libclang-dev pkg-config
fi
cargo install hurl --locked --version "$HURL_VERSION" -j "${CARGO_BUILD_JOBS:-1}"
hurl --version | head -1
