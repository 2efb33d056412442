#!/bin/sh
# The official image's healthcheck.sh, for the two tests stack.yml uses:
#   --connect             the server accepts a connection
#   --innodb_initialized  InnoDB has finished starting
set -e
query() { mariadb --protocol=socket -uroot -N -B -e "$1"; }
for test in "$@"; do
  case "$test" in
    --connect) query 'select 1' >/dev/null ;;
    --innodb_initialized) [ "$(query "select 1 from information_schema.ENGINES where engine='innodb' and support in ('YES','DEFAULT','ENABLED')")" = 1 ] ;;
    *) echo "healthcheck.sh: unknown test $test" >&2; exit 1 ;;
  esac
done
