#!/bin/sh
# Renders nginx.conf.template: substitutes the ${RC_*} placeholders from the environment and
# nothing else (nginx's own $variables stay); fails when one of them is unset.
#   RC_... sh docker/nginx/render.sh docker/nginx/nginx.conf.template /path/to/nginx.conf
set -eu
template=$1 out=$2
placeholders=$(grep -o '\${RC_[A-Z0-9_]*}' "$template" | sort -u | tr '\n' ' ')
for p in $placeholders; do
  name=${p#??}; name=${name%?}
  eval "isset=\${$name+yes}"
  [ "$isset" = yes ] || { echo "render.sh: $name is not set" >&2; exit 1; }
done
envsubst "$placeholders" <"$template" >"$out"
