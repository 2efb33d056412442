#!/usr/bin/env bash
# Test-only stand-ins for the third-party images stack.yml and docker/Dockerfile use, for machines
# that cannot reach Docker Hub. Each is built from Debian bookworm packages on ONE debootstrap
# minbase root file system (with this host's apt sources and settings), imported once, and tagged
# with the official name, so docker/Dockerfile and stack.yml run unchanged:
#   node:20-bookworm-slim  this host's Node 20, npm, node headers and CA bundle; user node (1000)
#   nginx:1.28-alpine      Debian's nginx (1.22) with the official image's template step and wget
#   mariadb:11.4           Debian's MariaDB (10.11) with the official MARIADB_* / *_FILE set-up
#   redis:7.4-alpine       Debian's Redis (7.0), protected mode off as in the official image
# An image that exists already is kept (delete it to rebuild). Not for production.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state=${BOOKSTORE_SWARM_STATE:-/var/lib/bookstore-swarm}
docker=${DOCKER_BUILD_CLI:-/usr/bin/docker}
base=bookstore-standin/bookworm-minbase:1
export DOCKER_BUILDKIT=1

have() { "$docker" image inspect "$1" >/dev/null 2>&1; }

if ! have "$base"; then
  echo "standins: debootstrap bookworm (minbase) → $base"
  rootfs=$state/rootfs
  rm -rf "$rootfs" && mkdir -p "$rootfs"
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  debootstrap --variant=minbase bookworm "$rootfs" "${mirror:-http://deb.debian.org/debian}" >"$state/debootstrap.log" 2>&1 \
    || { tail -20 "$state/debootstrap.log"; exit 1; }
  # The host's apt sources and settings, so apt in the images reaches what the host reaches.
  rm -f "$rootfs/etc/apt/sources.list"
  cp -a /etc/apt/sources.list.d/debian.sources "$rootfs/etc/apt/sources.list.d/" 2>/dev/null || cp /etc/apt/sources.list "$rootfs/etc/apt/"
  cp -a /etc/apt/apt.conf.d/. "$rootfs/etc/apt/apt.conf.d/"
  cp /usr/share/keyrings/debian-archive-keyring.gpg "$rootfs/usr/share/keyrings/" 2>/dev/null || true
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d" && chmod 755 "$rootfs/usr/sbin/policy-rc.d"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" -c . | "$docker" import -c 'CMD ["bash"]' - "$base" >/dev/null
  rm -rf "$rootfs"
fi

build() { # tag, directory (build context)
  if have "$1"; then echo "standins: $1 present"; return; fi
  echo "standins: building $1"
  "$docker" build --network host --build-arg BASE="$base" -t "$1" "$2" >>"$state/standins.log" 2>&1 \
    || { tail -30 "$state/standins.log"; exit 1; }
}

# The node stand-in's context gets this host's Node 20 (binary, npm, headers) and CA bundle.
if ! have node:20-bookworm-slim; then
  ctx=$state/node-context
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp "$here/node/Dockerfile" "$ctx/"
  node_bin=$(readlink -f "$(command -v node)")
  prefix=$(dirname "$(dirname "$node_bin")")
  tar -C "$prefix" -czf "$ctx/node.tar.gz" bin/node lib/node_modules/npm include/node
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/"
  build node:20-bookworm-slim "$ctx"
  rm -rf "$ctx"
fi
build nginx:1.28-alpine "$here/nginx"
build mariadb:11.4 "$here/mariadb"
build redis:7.4-alpine "$here/redis"
