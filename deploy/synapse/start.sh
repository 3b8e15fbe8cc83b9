#!/bin/sh
# The synapse service's entrypoint in docker-compose.yml: writes homeserver.yaml (the template
# beside this script, with the server name and the registration secret from the environment)
# into the data directory, creates the signing key on the first start, then starts Synapse as
# the image does (/start.py, user 991).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
: "${SYNAPSE_SERVER_NAME:?set SYNAPSE_SERVER_NAME (see deploy/env.example)}"
: "${SYNAPSE_REGISTRATION_SHARED_SECRET:?set SYNAPSE_REGISTRATION_SHARED_SECRET (see deploy/env.example)}"
SYNAPSE_DATA_DIR=${SYNAPSE_DATA_DIR:-/data}
export SYNAPSE_SERVER_NAME SYNAPSE_REGISTRATION_SHARED_SECRET SYNAPSE_DATA_DIR
python=${SYNAPSE_PYTHON:-python}
config="$SYNAPSE_DATA_DIR/homeserver.yaml"

# As the image's own start.py does: root hands over to Synapse's user 991.
as_synapse() {
    if [ "$(id -u)" = 0 ] && command -v gosu >/dev/null; then gosu 991:991 "$@"; else "$@"; fi
}

mkdir -p "$SYNAPSE_DATA_DIR"
if [ "$(id -u)" = 0 ]; then chown 991:991 "$SYNAPSE_DATA_DIR"; fi
"$python" - "$here/homeserver.yaml" "$config" <<'PY'
import os, sys
source, target = sys.argv[1], sys.argv[2]
with open(source) as f:
    text = f.read()
for name in ("SYNAPSE_SERVER_NAME", "SYNAPSE_REGISTRATION_SHARED_SECRET", "SYNAPSE_DATA_DIR"):
    value = os.environ[name]
    if any(c in value for c in "\"\\\n"):
        sys.exit(f"{name} must not contain quotes, backslashes or line breaks")
    text = text.replace("${" + name + "}", value)
with open(target + ".new", "w") as f:
    f.write(text)
os.chmod(target + ".new", 0o640)
os.replace(target + ".new", target)
PY
if [ "$(id -u)" = 0 ]; then chown root:991 "$config"; fi
# The signing key, once (Synapse keeps an existing one).
as_synapse "$python" -m synapse.app.homeserver --config-path "$config" --generate-keys

if [ -x /start.py ]; then
    exec /start.py run --config-path "$config"
fi
exec "$python" -m synapse.app.homeserver --config-path "$config"
