#!/bin/sh
# Prints one dial-plan context per account that has PJSIP endpoints (run by extensions.conf #exec
# on every dialplan reload). Connection: the same PostgreSQL role as res_pgsql.conf, via libpq
# variables (PGHOST, PGDATABASE, PGUSER, PGPASSWORD or ~/.pgpass) set for the asterisk user.
set -eu
psql -At -v ON_ERROR_STOP=1 -c "SELECT DISTINCT context FROM telephony.ps_endpoints WHERE context ~ '^acct-[1-9][0-9]{0,9}\$' ORDER BY 1" |
while read -r context; do
  printf '[%s]\nswitch => Realtime/%s@extensions\ninclude => rc-outbound\n\n' "$context" "$context"
done
