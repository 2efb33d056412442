#!/bin/bash
# The official mariadb image's start-up, as far as stack.yml uses it: on an empty data directory,
# create the system tables, the root password, the database and its user; then run mariadbd as user
# mysql on every interface with --skip-name-resolve. Variables may be given as NAME_FILE.
set -euo pipefail
env_or_file() { # NAME → value of NAME, or the contents of the file NAME_FILE names
  local file_var="$1_FILE"
  if [ -n "${!file_var:-}" ]; then cat "${!file_var}"; else printf '%s' "${!1:-}"; fi
}
sql_string() { printf "'%s'" "$(printf '%s' "$1" | sed "s/\\\\/\\\\\\\\/g; s/'/''/g")"; }

if [ "${1:-}" = mariadbd ]; then
  shift
  datadir=/var/lib/mysql
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld "$datadir"
  if [ ! -d "$datadir/mysql" ]; then
    echo "docker-entrypoint: initialising $datadir"
    mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db >/dev/null
    mariadbd --user=mysql --skip-networking --socket=/run/mysqld/init.sock &
    pid=$!
    for _ in $(seq 1 60); do mariadb --socket=/run/mysqld/init.sock -uroot -e 'select 1' >/dev/null 2>&1 && break; sleep 1; done
    root=$(env_or_file MARIADB_ROOT_PASSWORD) db=$(env_or_file MARIADB_DATABASE)
    user=$(env_or_file MARIADB_USER) password=$(env_or_file MARIADB_PASSWORD)
    {
      [ -n "$root" ] && echo "alter user root@localhost identified via unix_socket or mysql_native_password using password($(sql_string "$root"));"
      [ -n "$db" ] && echo "create database if not exists \`$db\`;"
      if [ -n "$user" ]; then
        echo "create user $(sql_string "$user")@'%' identified by $(sql_string "$password");"
        [ -n "$db" ] && echo "grant all on \`$db\`.* to $(sql_string "$user")@'%';"
      fi
      echo "flush privileges;"
    } | mariadb --socket=/run/mysqld/init.sock -uroot
    kill "$pid" && wait "$pid" || true
    echo "docker-entrypoint: initialised"
  fi
  exec mariadbd --user=mysql --bind-address=0.0.0.0 --skip-name-resolve "$@"
fi
exec "$@"
