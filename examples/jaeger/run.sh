#!/usr/bin/env bash
# Starts Jaeger (v2, in-memory) on loopback and runs the quickstart against it.
#
#   examples/jaeger/run.sh
#
# It builds the jaeger binary (the version pinned in internal/tools/jaeger/go.mod)
# from the Go module proxy — several minutes the first time — starts it with
# examples/jaeger/config.yaml, runs the quickstart with
# OTEL_EXPORTER_OTLP_ENDPOINT pointing at it, prints the trace through
# Jaeger's query API, and keeps Jaeger running until you press Enter.
# A binary built from the module has no UI assets; the query API on
# http://127.0.0.1:16686/api/... works. For the UI, run Jaeger's container
# image instead (see the README).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="$(mktemp -d /tmp/ztagent-jaeger.XXXXXX)"
bin="${ZTAGENT_JAEGER_BIN:-$dir/bin}"
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

echo "building jaeger into $bin (first time: several minutes)…"
mkdir -p "$bin"
(cd "$root/internal/tools/jaeger" && GOWORK=off go build -trimpath -o "$bin/" github.com/jaegertracing/jaeger/cmd/jaeger)

sed -e 's/@HEALTH@/13133/' -e 's/@QUERY_HTTP@/16686/' -e 's/@QUERY_GRPC@/16685/' \
	-e 's/@OTLP_GRPC@/4317/' -e 's/@OTLP_HTTP@/4318/' "$root/examples/jaeger/config.yaml" >"$dir/config.yaml"
"$bin/jaeger" --config "$dir/config.yaml" >"$dir/jaeger.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
	curl -fsS http://127.0.0.1:13133/status >/dev/null 2>&1 && break
	sleep 0.3
done

cd "$root"
OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 go run ./examples/quickstart
sleep 2
echo
echo "spans of the quickstart's trace, from Jaeger's query API:"
curl -fsS 'http://127.0.0.1:16686/api/traces?service=ztagent-quickstart&limit=1' |
	python3 -c 'import json,sys
for t in json.load(sys.stdin)["data"]:
    for s in sorted(t["spans"], key=lambda s: s["startTime"]):
        tags = {x["key"]: x["value"] for x in s["tags"]}
        print("  %-32s %-10s %s" % (s["operationName"], tags.get("ztagent.outcome", ""), tags.get("ztagent.outcome.code", "")))' || true
echo
read -r -p "Jaeger keeps the trace in memory at http://127.0.0.1:16686/api/traces?service=ztagent-quickstart — press Enter to stop it. " _ || true
