#!/usr/bin/env bash
# Makes sure PostgreSQL, Redis and NATS (JetStream) answer on their default local ports.
# A service that is installed but stopped is started; one that is missing is named, with the
# package that provides it. Override addresses with PG_PORT / REDIS_PORT / NATS_PORT.
set -uo pipefail

PG_PORT=${PG_PORT:-5432}
REDIS_PORT=${REDIS_PORT:-6379}
NATS_PORT=${NATS_PORT:-4222}

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_up() { # port name
  for _ in $(seq 1 50); do up "$1" && return 0; sleep 0.2; done
  echo "services: $2 did not come up on 127.0.0.1:$1" >&2
  return 1
}

missing=()

if ! up "$PG_PORT"; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "services: starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    wait_up "$PG_PORT" PostgreSQL || missing+=("PostgreSQL on 127.0.0.1:$PG_PORT")
  else
    missing+=("PostgreSQL on 127.0.0.1:$PG_PORT (apt-get install postgresql)")
  fi
fi

if ! up "$REDIS_PORT"; then
  if command -v redis-server >/dev/null; then
    echo "services: starting Redis" >&2
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no >/dev/null
    wait_up "$REDIS_PORT" Redis || missing+=("Redis on 127.0.0.1:$REDIS_PORT")
  else
    missing+=("Redis on 127.0.0.1:$REDIS_PORT (apt-get install redis-server)")
  fi
fi

if ! up "$NATS_PORT"; then
  if [ -x /usr/sbin/nats-server ] || command -v nats-server >/dev/null; then
    echo "services: starting NATS with JetStream" >&2
    bin=$(command -v nats-server || echo /usr/sbin/nats-server)
    mkdir -p /var/lib/nats-server 2>/dev/null || true
    if command -v start-stop-daemon >/dev/null; then
      start-stop-daemon --start --oknodo --background --exec "$bin" -- -a 127.0.0.1 -p "$NATS_PORT" -js -sd /var/lib/nats-server
    else
      nohup "$bin" -a 127.0.0.1 -p "$NATS_PORT" -js -sd /var/lib/nats-server >/dev/null 2>&1 &
    fi
    wait_up "$NATS_PORT" NATS || missing+=("NATS on 127.0.0.1:$NATS_PORT")
  else
    missing+=("NATS with JetStream on 127.0.0.1:$NATS_PORT (apt-get install nats-server)")
  fi
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "services: not reachable and could not be started:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 1
fi
