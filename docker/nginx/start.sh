#!/bin/sh
# Entry point of the nginx container (docker/compose.yaml): render the template, check, run.
set -eu
here=$(dirname "$0")
mkdir -p "$RC_STATE_DIR" "$RC_LOG_DIR"
sh "$here/render.sh" "$here/nginx.conf.template" /tmp/nginx.conf
nginx -t -q -e stderr -c /tmp/nginx.conf
exec nginx -e stderr -c /tmp/nginx.conf -g 'daemon off;'
