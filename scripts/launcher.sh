#!/bin/sh
# tcpstate-exporter launcher, from the release tarball: runs the bundled app (app/) on Node.js.
# Node.js is, in order: $TCPSTATE_EXPORTER_NODE, a node/ directory next to this script, `node` on
# PATH. Symlinks to this script (e.g. /usr/local/bin/tcpstate-exporter) are followed.
here=$(dirname "$(readlink -f "$0")")
node=${TCPSTATE_EXPORTER_NODE:-}
if [ -z "$node" ] && [ -x "$here/node/bin/node" ]; then node=$here/node/bin/node; fi
if [ -z "$node" ]; then node=$(command -v node) || node=; fi
if [ -z "$node" ]; then
  echo "tcpstate-exporter: error: Node.js not found on PATH ($PATH); install Node.js 22 or 24, or set TCPSTATE_EXPORTER_NODE" >&2
  exit 1
fi
exec "$node" "$here/app/dist/main.js" "$@"
