#!/bin/sh
# Entrypoint of the BookStore image. One image, every role: BOOKSTORE_MODULES picks the modules.
#
#   serve      (default) run the modules named by BOOKSTORE_MODULES; never migrates on its own
#              account, because the image sets BOOKSTORE_MIGRATE=false
#   migrate    apply the pending migrations of BOOKSTORE_MODULES (use "all") and exit; stack.yml
#              runs this once per deployment as the one-shot "migrate" service
#   anything else is run as given (e.g. "node -e ...")
#
# Every role takes its configuration from the environment (NAME or NAME_FILE, see README.md).
# `exec` keeps node the direct child of the init process (init: true in stack.yml, or
# `docker run --init`), so SIGTERM reaches it and it shuts down gracefully.
set -eu
cd "$(dirname "$0")/.."   # /app in the image

command=${1:-serve}
[ $# -gt 0 ] && shift

case "$command" in
  serve) exec node dist/kernel/main.js "$@" ;;
  migrate) exec node dist/kernel/cli/migrate.js up "$@" ;;
  *) exec "$command" "$@" ;;
esac
