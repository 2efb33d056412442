#!/usr/bin/env bash
# The real stack on one machine: a Docker 20.10 engine, a one-node swarm and stack.yml deployed on
# it, reached over HTTPS on 127.0.0.1 (docs/deploy.md, "Try the real stack on one machine").
#
#   test/swarm/swarm.sh up     (npm run swarm:up)   install, start, build, deploy, wait; idempotent
#   test/swarm/swarm.sh down   (npm run swarm:down) undo all of it; idempotent
#
# Root only (it installs packages, runs dockerd and changes the firewall). Environment:
#   BOOKSTORE_SWARM_STATE     state directory (pid, logs, secrets, certificates) /var/lib/bookstore-swarm
#   BOOKSTORE_SWARM_OVERRIDE  extra stack files merged after stack.yml (the tests' short delays)
#   BOOKSTORE_STANDINS=0      pull the real third-party images instead of building stand-ins
set -euo pipefail
cd "$(dirname "$0")/../.."
state=${BOOKSTORE_SWARM_STATE:-/var/lib/bookstore-swarm}
export BOOKSTORE_SWARM_STATE=$state DOCKER_API_VERSION=1.41
export BOOKSTORE_IMAGE=${BOOKSTORE_IMAGE:-bookstore:swarm-test}
stack=bookstore
secrets=(database_url internal_token admin_password mysql_password mysql_root_password tls_cert tls_key)
log() { echo "swarm: $*"; }
engine() { docker info >/dev/null 2>&1; }
[ "$(id -u)" = 0 ] || { echo "swarm: run as root" >&2; exit 1; }
mkdir -p "$state" && chmod 700 "$state"

start_engine() {
  if ! [ -x /usr/sbin/dockerd ] || ! command -v debootstrap >/dev/null; then
    log "installing docker.io and debootstrap"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null
  fi
  engine && return
  # What the firewall held before this engine, so `down` removes exactly what the engine added.
  nft list tables >"$state/nft-tables.before" 2>/dev/null || : >"$state/nft-tables.before"
  log "starting dockerd (log: $state/dockerd.log)"
  # Private, unused ranges for the default bridge, docker_gwbridge and local networks.
  # DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: tasks use the local image instead of asking a registry first.
  DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 setsid /usr/sbin/dockerd --storage-driver=overlay2 --pidfile "$state/dockerd.pid" \
    --bip 10.203.0.1/24 --default-address-pool base=10.202.0.0/16,size=24 \
    >>"$state/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 1 60); do engine && return; sleep 1; done
  tail -20 "$state/dockerd.log"; exit 1
}

images() {
  if [ "${BOOKSTORE_STANDINS:-1}" = 0 ]; then
    for image in node:20-bookworm-slim nginx:1.28-alpine mariadb:11.4 redis:7.4-alpine; do docker pull -q "$image"; done
  else
    bash test/swarm/standins/build.sh
  fi
  log "building $BOOKSTORE_IMAGE from docker/Dockerfile"
  local started=$SECONDS
  DOCKER_BUILDKIT=1 /usr/bin/docker build --network host -f docker/Dockerfile -t "$BOOKSTORE_IMAGE" . >"$state/build.log" 2>&1 \
    || { tail -40 "$state/build.log"; exit 1; }
  log "image built in $((SECONDS - started)) s: $(docker image inspect -f '{{.Size}}' "$BOOKSTORE_IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"
}

swarm_and_secrets() {
  if [ "$(docker info -f '{{.Swarm.LocalNodeState}}')" != active ]; then
    log "docker swarm init"
    docker swarm init --advertise-addr 127.0.0.1 --default-addr-pool 10.201.0.0/16 >/dev/null
  fi
  docker node update --label-add bookstore.data=true "$(docker info -f '{{.Swarm.NodeID}}')" >/dev/null
  local dir=$state/secrets
  mkdir -p "$dir" && chmod 700 "$dir"
  if [ ! -s "$dir/database_url" ]; then
    local db_password
    db_password=$(openssl rand -hex 24)
    printf '%s' "$db_password" >"$dir/mysql_password"
    openssl rand -hex 24 | tr -d '\n' >"$dir/mysql_root_password"
    printf 'mysql://bookstore:%s@mysql:3306/bookstore' "$db_password" >"$dir/database_url"
    openssl rand -hex 32 | tr -d '\n' >"$dir/internal_token"
    openssl rand -base64 18 | tr -d '\n' >"$dir/admin_password"
  fi
  sh docker/certs/make-local-ca.sh "$state/certs" >/dev/null
  cp "$state/certs/server.crt" "$dir/tls_cert" && cp "$state/certs/server.key" "$dir/tls_key"
  for name in "${secrets[@]}"; do
    docker secret inspect "bookstore_${name}_v1" >/dev/null 2>&1 || docker secret create "bookstore_${name}_v1" "$dir/$name" >/dev/null
  done
  printf 'email: %s\npassword: %s\n' "${BOOKSTORE_ADMIN_EMAIL:-admin@bookstore.invalid}" "$(cat "$dir/admin_password")" >"$state/admin-credentials"
  chmod 600 "$dir"/* "$state/admin-credentials"
}

# Every replicated service runs all its tasks (Swarm counts a task once its health check passes),
# migrate has completed, every container is healthy and NGINX answers over HTTPS.
converged() {
  local name replicas running desired
  while read -r name replicas; do
    if [ "$name" = ${stack}_migrate ]; then
      docker service ps "$name" --format '{{.CurrentState}}' | grep -q '^Complete' || return 1
      continue
    fi
    running=${replicas%%/*} desired=${replicas#*/}; desired=${desired%% *}
    [ "$running" = "$desired" ] && [ "$desired" != 0 ] || return 1
  done < <(docker stack services "$stack" --format '{{.Name}} {{.Replicas}}')
  ! docker ps --filter "label=com.docker.stack.namespace=$stack" --format '{{.Status}}' | grep -qv '(healthy)' || return 1
  [ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$state/certs/ca.crt" https://localhost/api/catalog/books?limit=1)" = 200 ]
}

deploy() {
  local files=(-c stack.yml) extra
  for extra in ${BOOKSTORE_SWARM_OVERRIDE:-}; do files+=(-c "$extra"); done
  log "docker stack deploy ${files[*]} $stack"
  BOOKSTORE_DOMAIN=localhost docker stack deploy --resolve-image never "${files[@]}" "$stack" 2>&1 \
    | grep -v -e 'detach=false' -e '^Creating' -e '^Updating' || true
  local started=$SECONDS
  until converged; do
    if ((SECONDS - started > ${BOOKSTORE_SWARM_WAIT:-600})); then
      docker stack services "$stack"; docker stack ps --no-trunc "$stack" | head -40
      echo "swarm: the stack did not converge" >&2; exit 1
    fi
    sleep 3
  done
  log "converged in $((SECONDS - started)) s"
}

up() {
  local started=$SECONDS
  start_engine
  images
  swarm_and_secrets
  deploy
  log "up in $((SECONDS - started)) s"
  echo
  echo "  BookStore runs at https://localhost/ (API reference: https://localhost/api/docs)"
  echo "  CA certificate:    $state/certs/ca.crt   (curl --cacert $state/certs/ca.crt https://localhost/api/catalog/books)"
  echo "  Admin credentials: $state/admin-credentials"
  echo "  Stop and clean up: npm run swarm:down"
}

down() {
  local started=$SECONDS
  if engine; then
    if [ "$(docker info -f '{{.Swarm.LocalNodeState}}')" = active ]; then
      log "docker stack rm $stack"
      docker stack rm "$stack" >/dev/null 2>&1 || true
      for _ in $(seq 1 60); do [ -z "$(docker ps -aq --filter "label=com.docker.stack.namespace=$stack")" ] && break; sleep 1; done
      docker swarm leave --force >/dev/null
    fi
    docker volume rm ${stack}_mysql-data ${stack}_redis-data >/dev/null 2>&1 || true
  fi
  if [ -s "$state/dockerd.pid" ] && [ "$(cat "/proc/$(cat "$state/dockerd.pid")/comm" 2>/dev/null)" = dockerd ]; then
    local pid
    pid=$(cat "$state/dockerd.pid")
    log "stopping dockerd ($pid)"
    kill "$pid"
    for _ in $(seq 1 60); do [ -d "/proc/$pid" ] || break; sleep 1; done
    [ ! -d "/proc/$pid" ] || kill -9 "$pid"
  fi
  rm -f "$state/dockerd.pid"
  # Leftovers of a stopped engine: its bridges, its network namespaces, its firewall tables.
  for link in docker_gwbridge docker0; do ip link del "$link" 2>/dev/null || true; done
  for ns in /run/docker/netns/*; do [ -e "$ns" ] && umount "$ns" 2>/dev/null; done; true
  if [ -f "$state/nft-tables.before" ]; then
    nft list tables 2>/dev/null | grep -vxFf "$state/nft-tables.before" | while read -r _ family name; do
      nft delete table "$family" "$name"
    done || true
  fi
  rm -rf "$state/secrets" "$state/admin-credentials"
  log "down in $((SECONDS - started)) s"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
