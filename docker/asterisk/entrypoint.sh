#!/bin/sh
# Writes this repo's Asterisk configuration from its templates (conf/, copied into the image) and
# the environment compose gives the container: ARI and SIP credentials, the ARI app, the address
# callers on other machines reach this host at, the RTP port range, the media server chan_websocket
# dials in client mode. Then runs the command
# (asterisk -f). The image holds no credentials; they live in .env.
#
# The render step runs outside the container too (the compose tests do): AVB_CONF_SRC and
# AVB_CONF_DIR override where templates are read and files written; AVB_RENDER_ONLY=1 stops after.
set -eu

: "${AVB_CONF_SRC:=/etc/asterisk/avb}"
: "${AVB_CONF_DIR:=/etc/asterisk}"
: "${ARI_USER:=asterisk}"
: "${ARI_APP:=ai_app}"
: "${SIP_EXTERNAL_ADDRESS:=}"
: "${SIP_LOCAL_NETS:=}"
: "${RTP_PORT_START:=10000}"
: "${RTP_PORT_END:=10099}"
: "${MEDIA_WEBSOCKET_URI:=ws://websocket-echo:8787/media}"

fail() {
  echo "asterisk: $1" >&2
  exit 1
}

[ -n "${ARI_PASSWORD:-}" ] || fail "ARI_PASSWORD is empty; set it in .env"
[ -n "${SIP_PASSWORD:-}" ] || fail "SIP_PASSWORD is empty; set it in .env"
case "$ARI_USER$ARI_APP" in
  *[!A-Za-z0-9_.-]*) fail "ARI_USER and ARI_APP may hold only letters, digits, '_', '.', '-'" ;;
esac

# In Asterisk's config syntax ';' starts a comment, a line break ends the value and blanks around
# it are dropped: such a password would not be the one the gateway or the softphone sends.
cr=$(printf '\r')
tab=$(printf '\t')
for name in ARI_PASSWORD SIP_PASSWORD; do
  eval "value=\$$name"
  case "$value" in
    *";"* | *"
"* | *"$cr"*) fail "$name must not contain ';' or a line break" ;;
    " "* | *" " | "$tab"* | *"$tab") fail "$name must not start or end with a blank" ;;
  esac
done

case "$SIP_EXTERNAL_ADDRESS" in
  *[!A-Za-z0-9.:-]*) fail "SIP_EXTERNAL_ADDRESS must be an IP address or host name (got '$SIP_EXTERNAL_ADDRESS')" ;;
esac
nets=$(printf '%s' "$SIP_LOCAL_NETS" | tr ',' ' ')
for net in $nets; do
  case "$net" in
    *[!0-9A-Fa-f.:/]* | */*/*) fail "SIP_LOCAL_NETS must be networks like 192.168.0.0/16, comma-separated (got '$net')" ;;
  esac
done
case "$MEDIA_WEBSOCKET_URI" in
  *[!A-Za-z0-9._~:/?#@+,=%\&-]*) fail "MEDIA_WEBSOCKET_URI must be a ws:// or wss:// URL of letters, digits and ._~:/?#@+,=%&- (got '$MEDIA_WEBSOCKET_URI')" ;;
  ws://?* ) MEDIA_WEBSOCKET_TLS=no ;;
  wss://?*) MEDIA_WEBSOCKET_TLS=yes ;;
  *) fail "MEDIA_WEBSOCKET_URI must be a ws:// or wss:// URL (got '$MEDIA_WEBSOCKET_URI')" ;;
esac
for port in "$RTP_PORT_START" "$RTP_PORT_END"; do
  case "$port" in
    '' | *[!0-9]*) fail "RTP_PORT_START and RTP_PORT_END must be port numbers" ;;
  esac
done
if [ "$RTP_PORT_START" -lt 1024 ] || [ "$RTP_PORT_END" -gt 65535 ] || [ "$RTP_PORT_END" -le "$RTP_PORT_START" ]; then
  fail "RTP ports must satisfy 1024 <= RTP_PORT_START < RTP_PORT_END <= 65535"
fi

# pjsip.conf's transport lines for callers behind NAT or on other machines (@SIP_NAT@).
SIP_NAT=""
if [ -n "$SIP_EXTERNAL_ADDRESS" ]; then
  SIP_NAT="external_media_address = $SIP_EXTERNAL_ADDRESS
external_signaling_address = $SIP_EXTERNAL_ADDRESS"
fi
for net in $nets; do
  SIP_NAT="${SIP_NAT:+$SIP_NAT
}local_net = $net"
done
export ARI_USER ARI_APP SIP_NAT RTP_PORT_START RTP_PORT_END MEDIA_WEBSOCKET_URI MEDIA_WEBSOCKET_TLS

# Fills @NAME@ in statement lines from the environment (awk takes the values as they are: no
# escaping to get wrong). Comment lines are copied untouched, so no secret ever lands in one.
render() {
  awk -v names="ARI_USER ARI_PASSWORD ARI_APP SIP_PASSWORD SIP_NAT RTP_PORT_START RTP_PORT_END MEDIA_WEBSOCKET_URI MEDIA_WEBSOCKET_TLS" '
    BEGIN { n = split(names, list, " "); for (i = 1; i <= n; i++) value["@" list[i] "@"] = ENVIRON[list[i]] }
    /^[ \t]*;/ { print; next }
    {
      out = ""; line = $0
      while (match(line, /@[A-Z_]+@/)) {
        key = substr(line, RSTART, RLENGTH)
        out = out substr(line, 1, RSTART - 1) ((key in value) ? value[key] : key)
        line = substr(line, RSTART + RLENGTH)
      }
      print out line
    }' "$1"
}

mkdir -p "$AVB_CONF_DIR"
for src in "$AVB_CONF_SRC"/*.conf; do
  render "$src" > "$AVB_CONF_DIR/$(basename "$src")"
done
# The two files with secrets: readable by Asterisk (which runs as `asterisk`), nobody else.
chmod 0640 "$AVB_CONF_DIR/ari.conf" "$AVB_CONF_DIR/pjsip.conf"
if [ "$(id -u)" = 0 ] && id asterisk > /dev/null 2>&1; then
  chown asterisk:asterisk "$AVB_CONF_DIR/ari.conf" "$AVB_CONF_DIR/pjsip.conf"
fi
echo "asterisk: config written; SIP external address: ${SIP_EXTERNAL_ADDRESS:-none (calls from this host only)}; local nets: ${SIP_LOCAL_NETS:-none}; RTP ports $RTP_PORT_START-$RTP_PORT_END; chan_websocket client media server $MEDIA_WEBSOCKET_URI"

[ "${AVB_RENDER_ONLY:-0}" = 1 ] && exit 0
exec "$@"
