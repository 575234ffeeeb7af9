#!/bin/sh
# Entrypoint of the container (deploy/Dockerfile): Node-RED with the settings and flows of the mounted git checkout.
# POSIX sh (the image's busybox ash; dash elsewhere), so the e2e test runs this same file outside a container.
#
#   OS2_CONFIG_DIR        the mounted checkout (default /config): flows.json, flows_cred.json, optionally settings.js
#   OS2_FLOWS             the flow file's name in it (default flows.json)
#   OS2_DEFAULT_SETTINGS  settings used when the checkout has no settings.js (default: the image's copy of
#                         deploy/settings.js, next to this script)
#   OS2_NODE_RED_DIR      where node-red is installed (default /usr/src/node-red, as in the official image)
#   OS2_USER_DIR          Node-RED's user directory (default /data), also read by the settings
# Arguments are passed on to Node-RED (e.g. --safe). Secrets are read by the settings file, not here.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
config_dir=${OS2_CONFIG_DIR:-/config}
flows=${OS2_FLOWS:-flows.json}
node_red_dir=${OS2_NODE_RED_DIR:-/usr/src/node-red}

fail() {
  echo "os2 entrypoint: $*" >&2
  exit 1
}

[ -d "$config_dir" ] || fail "no checkout at $config_dir: mount the git checkout with the flows there (OS2_CONFIG_DIR)"
[ -f "$config_dir/$flows" ] || fail "no $flows in $config_dir: the checkout must hold the flow file (OS2_FLOWS names another)"

if [ -f "$config_dir/settings.js" ]; then
  settings="$config_dir/settings.js"
else
  settings=${OS2_DEFAULT_SETTINGS:-$here/settings.js}
fi
[ -f "$settings" ] || fail "settings file $settings not found"

red="$node_red_dir/node_modules/node-red/red.js"
[ -f "$red" ] || fail "Node-RED not found at $red (OS2_NODE_RED_DIR)"

# Node-RED keeps the credentials file in its user directory, not beside the flow file: put the checkout's copy there
# on every start, so the credentials always come from git (and none are left over when the checkout has none).
# Same name rule as Node-RED's: flows.json → flows_cred.json.
case "$flows" in
  *.json) cred="$(basename "$flows" .json)_cred.json" ;;
  *) fail "OS2_FLOWS \"$flows\" must end in .json" ;;
esac
user_dir=${OS2_USER_DIR:-/data}
[ -d "$user_dir" ] && [ -w "$user_dir" ] || fail "the user directory $user_dir is missing or not writable (OS2_USER_DIR)"
if [ -f "$config_dir/$(dirname "$flows")/$cred" ]; then
  cp "$config_dir/$(dirname "$flows")/$cred" "$user_dir/$cred"
else
  rm -f "$user_dir/$cred"
fi

# The settings file names the user directory and the flow file (from the same variables); they are not repeated here,
# since a flow file given on the command line would override the settings' one.
echo "os2 entrypoint: settings $settings, flows $config_dir/$flows"
# exec: Node-RED becomes this process, so SIGTERM from `docker stop` reaches it directly and it shuts down cleanly
# (fordeling out finishes or hands back sends in flight). NODE_OPTIONS is read by node itself.
exec node "$red" --settings "$settings" "$@"
