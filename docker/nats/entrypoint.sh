#!/bin/sh
# Starts nats-server on docker/nats/nats.conf with the users' passwords from the environment,
# whatever characters they hold.
#
# nats-server reads a `$NAME` found in the environment as a config *value*: 12345678 becomes a
# number, true/off a boolean, 2024-01-01 a date, and one with a space or `12e4abcd` does not parse,
# so the server would not start. A variable defined in the config itself is found before the
# environment, so this script writes each password as a quoted string variable ahead of the
# config and nats.conf's `$NATS_..._PASSWORD` references pick those up.
#
# On a cluster (docker-compose.cluster.yml: NATS_CLUSTER=1 and this server's NATS_SERVER_NAME),
# cluster.conf (routes to the other servers) is appended after nats.conf.
#
# Runnable outside the container (the tests render with it): NATS_CONF_TEMPLATE,
# NATS_CLUSTER_CONF_TEMPLATE, NATS_CONF_OUT and NATS_RENDER_ONLY=1 (write the file and exit)
# override the container's paths and the exec.
set -eu

: "${NATS_CONF_TEMPLATE:=/etc/nats/nats.conf}"
: "${NATS_CLUSTER_CONF_TEMPLATE:=/etc/nats/cluster.conf}"
: "${NATS_CONF_OUT:=/tmp/avb-nats/nats.conf}"
USERS_PASSWORDS="NATS_GATEWAY_PASSWORD NATS_CONTROLLER_PASSWORD NATS_HEALTH_PASSWORD NATS_OBSERVER_PASSWORD"

fail() {
  echo "nats: $1" >&2
  exit 1
}

# The value as the inside of a double-quoted nats-server string: backslash, double quote and tab
# escaped; `$` written as \x24 so no nats-server version can take `${...}` for a variable
# (newer ones interpolate those inside strings). Never printed: it is a secret.
quoted() {
  printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\$/\\x24/g' -e 's/	/\\t/g'
}

cr=$(printf '\r')
for name in $USERS_PASSWORDS; do
  eval "value=\${$name:-}"
  [ -n "$value" ] || fail "$name is empty; set it in .env"
  case "$value" in
    *"
"* | *"$cr"*) fail "$name must not contain a line break" ;;
  esac
  # nats-server compares a password that looks like a bcrypt hash ($2a$10$...) as a hash.
  if printf '%s' "$value" | grep -Eq '^\$2[abxy]?\$[0-9][0-9]\$'; then
    fail "$name looks like a bcrypt hash (\$2a\$NN\$...), which nats-server would not compare as a password"
  fi
done

if [ "${NATS_CLUSTER:-0}" = 1 ]; then
  printf '%s' "${NATS_SERVER_NAME:-}" | grep -Eq '^[A-Za-z0-9-]+$' || fail "NATS_SERVER_NAME must be letters, digits and '-' on a cluster (NATS_CLUSTER=1)"
fi

umask 077
mkdir -p "$(dirname "$NATS_CONF_OUT")"
{
  echo "# Rendered by docker/nats/entrypoint.sh from $NATS_CONF_TEMPLATE: each user's password"
  echo "# as a quoted string, so nats-server reads it as text."
  for name in $USERS_PASSWORDS; do
    eval "value=\${$name}"
    printf '%s: "%s"\n' "$name" "$(quoted "$value")"
  done
  if [ "${NATS_CLUSTER:-0}" = 1 ]; then printf 'NATS_SERVER_NAME: "%s"\n' "$NATS_SERVER_NAME"; fi
  echo
  cat "$NATS_CONF_TEMPLATE"
  if [ "${NATS_CLUSTER:-0}" = 1 ]; then
    echo
    cat "$NATS_CLUSTER_CONF_TEMPLATE"
  fi
} > "$NATS_CONF_OUT"

[ "${NATS_RENDER_ONLY:-0}" = 1 ] && exit 0
exec nats-server -c "$NATS_CONF_OUT" "$@"
