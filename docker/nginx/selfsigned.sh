#!/bin/sh
# A self-signed certificate for development and tests (real deployments mount their own):
#   sh docker/nginx/selfsigned.sh DIR    → DIR/tls.crt, DIR/tls.key (kept if they exist)
# TLS_SAN overrides the names it is valid for.
set -eu
dir=$1
san=${TLS_SAN:-DNS:localhost,IP:127.0.0.1}
cn=${san#*:}; cn=${cn%%,*}
if [ -s "$dir/tls.crt" ] && [ -s "$dir/tls.key" ]; then exit 0; fi
command -v openssl >/dev/null || apk add --no-cache openssl >/dev/null  # the alpine image of compose
mkdir -p "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -days 825 -sha256 \
  -subj "/CN=$cn" -addext "subjectAltName=$san" \
  -keyout "$dir/tls.key" -out "$dir/tls.crt" 2>/dev/null
chmod 600 "$dir/tls.key"
