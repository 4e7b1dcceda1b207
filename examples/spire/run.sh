#!/usr/bin/env bash
# Runs the quickstart with its identity from a real SPIRE agent.
#
#   examples/spire/run.sh
#
# It builds spire-server and spire-agent (the version pinned in
# internal/tools/spire/go.mod) from the Go module proxy, starts both on
# loopback and unix sockets in a temp dir, registers the quickstart as
# spiffe://ztagent.dev/agent/quickstart (selected by this user's uid), runs
# the quickstart with SPIFFE_ENDPOINT_SOCKET pointing at the agent, and stops
# everything on exit. The first build takes several minutes.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/examples/spire"
dir="$(mktemp -d /tmp/ztagent-spire.XXXXXX)"
bin="${ZTAGENT_SPIRE_BIN:-$dir/bin}"
port="${SPIRE_PORT:-18081}"
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

echo "building SPIRE into $bin (first time: several minutes)…"
mkdir -p "$bin" "$dir/server-data" "$dir/agent-data" "$dir/public"
(cd "$root/internal/tools/spire" && GOWORK=off go build -trimpath -o "$bin/" \
	github.com/spiffe/spire/cmd/spire-server github.com/spiffe/spire/cmd/spire-agent)

for f in server.conf agent.conf; do
	sed -e "s#@DIR@#$dir#g" -e "s#@PORT@#$port#g" "$here/$f" >"$dir/$f"
done
server() { "$bin/spire-server" "$@" -socketPath "$dir/server.sock"; }
wait_healthy() { # name, command…
	local name="$1"; shift
	for _ in $(seq 1 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.3; done
	echo "$name did not become healthy; see $dir/$name.log" >&2; exit 1
}

"$bin/spire-server" run -config "$dir/server.conf" >"$dir/spire-server.log" 2>&1 &
pids+=($!)
wait_healthy spire-server server healthcheck

token="$(server token generate -spiffeID spiffe://ztagent.dev/node/example | sed 's/^Token: //')"
server bundle show >"$dir/bundle.pem"
"$bin/spire-agent" run -config "$dir/agent.conf" -joinToken "$token" >"$dir/spire-agent.log" 2>&1 &
pids+=($!)
wait_healthy spire-agent "$bin/spire-agent" healthcheck -socketPath "$dir/public/agent.sock"

server entry create -parentID spiffe://ztagent.dev/node/example \
	-spiffeID spiffe://ztagent.dev/agent/quickstart \
	-selector "unix:uid:$(id -u)" -x509SVIDTTL 60 >/dev/null
echo "waiting for the agent to serve the registration…"
wait_healthy registration "$bin/spire-agent" api fetch x509 -socketPath "$dir/public/agent.sock"

cd "$root"
SPIFFE_ENDPOINT_SOCKET="unix://$dir/public/agent.sock" go run ./examples/quickstart
