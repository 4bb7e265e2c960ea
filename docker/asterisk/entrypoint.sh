#!/bin/sh
# Installs our configuration over Alpine's samples, filling the ARI and SIP credentials in from
# the environment (so they live in .env, not in the image), then runs the command (asterisk -f).
set -eu

: "${ARI_USER:=asterisk}"
: "${ARI_APP:=ai_app}"
if [ -z "${ARI_PASSWORD:-}" ]; then
  echo "asterisk: ARI_PASSWORD is empty; set it in .env" >&2
  exit 1
fi
if [ -z "${SIP_PASSWORD:-}" ]; then
  echo "asterisk: SIP_PASSWORD is empty; set it in .env" >&2
  exit 1
fi
case "$ARI_USER$ARI_APP" in
  *[!A-Za-z0-9_.-]*) echo "asterisk: ARI_USER and ARI_APP may hold only letters, digits, '_', '.', '-'" >&2; exit 1 ;;
esac

# Asterisk's config syntax ends a value at ';' (a comment) and at a line break.
for v in "$ARI_PASSWORD" "$SIP_PASSWORD"; do
  case "$v" in
    *";"*|*"
"*) echo "asterisk: ARI_PASSWORD and SIP_PASSWORD must not contain ';' or a line break" >&2; exit 1 ;;
  esac
done

# Escapes a value for the replacement side of sed (the delimiter is |).
esc() { printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'; }

for f in modules.conf http.conf rtp.conf extensions.conf pjsip.conf ari.conf; do
  sed -e "s|@ARI_USER@|$(esc "$ARI_USER")|g" \
      -e "s|@ARI_PASSWORD@|$(esc "$ARI_PASSWORD")|g" \
      -e "s|@ARI_APP@|$(esc "$ARI_APP")|g" \
      -e "s|@SIP_PASSWORD@|$(esc "$SIP_PASSWORD")|g" \
      "/etc/asterisk/avb/$f" > "/etc/asterisk/$f"
done
chown asterisk:asterisk /etc/asterisk/ari.conf /etc/asterisk/pjsip.conf
chmod 0640 /etc/asterisk/ari.conf /etc/asterisk/pjsip.conf

exec "$@"
