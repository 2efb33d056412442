#!/bin/sh
# The official image's template step (20-envsubst-on-templates.sh): every
# /etc/nginx/templates/NAME.template becomes /etc/nginx/conf.d/NAME with the variables that are
# set in the environment substituted, and nginx's own $variables left alone.
set -e
if [ "$1" = nginx ] && [ -d /etc/nginx/templates ]; then
  defined=$(printf '${%s} ' $(env | cut -d= -f1))
  for template in /etc/nginx/templates/*.template; do
    [ -f "$template" ] || continue
    out=/etc/nginx/conf.d/$(basename "$template" .template)
    echo "docker-entrypoint: rendering $template → $out"
    envsubst "$defined" <"$template" >"$out"
  done
fi
exec "$@"
