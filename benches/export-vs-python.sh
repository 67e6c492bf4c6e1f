#!/usr/bin/env bash
# Our exporter against the Python opentelemetry-exporter-prometheus-remote-write, on the same
# series, to the same local sink: series per second for each (collection included) and the ratio.
#
#   benches/export-vs-python.sh [SERIES] [ROUNDS]      # defaults: 100000 series, 5 rounds
#
# Installs the Python exporter in a virtualenv under target/ (PyPI must be reachable once),
# builds the sink and our driver in release mode, runs both drivers one after the other against
# the sink and checks from the sink's counts that every series arrived.
set -euo pipefail

SERIES=${1:-100000}
ROUNDS=${2:-5}
PY_ROUNDS=${PY_ROUNDS:-3}
PY_EXPORTER_VERSION=${PY_EXPORTER_VERSION:-0.66b1}

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
venv=$target/bench-venv-prw-python

if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import opentelemetry.exporter.prometheus_remote_write' 2>/dev/null; then
    echo "installing opentelemetry-exporter-prometheus-remote-write==$PY_EXPORTER_VERSION in $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "opentelemetry-exporter-prometheus-remote-write==$PY_EXPORTER_VERSION"
fi

cargo build --quiet --release -p prw --example rw_sink --example export_throughput

sink_out=$(mktemp)
"$target/release/examples/rw_sink" 127.0.0.1:0 >"$sink_out" &
sink_pid=$!
trap 'kill "$sink_pid" 2>/dev/null; rm -f "$sink_out"' EXIT
for _ in $(seq 50); do grep -q listening "$sink_out" && break; sleep 0.1; done
port=$(sed -n 's/^listening on 127.0.0.1://p' "$sink_out")
url="http://127.0.0.1:$port/api/v1/write"

stats() { python3 -c 'import json,sys,urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1]))["series"])' "http://127.0.0.1:$port/stats"; }
reset() { python3 -c 'import sys,urllib.request; urllib.request.urlopen(sys.argv[1])' "http://127.0.0.1:$port/reset"; }

echo "== prw ($SERIES series, $ROUNDS rounds + 1 warm-up)"
reset
rust_out=$("$target/release/examples/export_throughput" "$url" "$SERIES" "$ROUNDS")
echo "$rust_out" | head -2
rust_rate=$(echo "$rust_out" | sed -n 's/^series_per_second=//p')
rust_cpu_rate=$(echo "$rust_out" | sed -n 's/^series_per_cpu_second=//p')
rust_series=$(stats)

echo "== python opentelemetry-exporter-prometheus-remote-write $PY_EXPORTER_VERSION ($SERIES series, $PY_ROUNDS rounds + 1 warm-up)"
reset
py_out=$("$venv/bin/python" "$root/benches/python_export.py" "$url" "$SERIES" "$PY_ROUNDS")
echo "$py_out" | head -2
py_rate=$(echo "$py_out" | sed -n 's/^series_per_second=//p')
py_cpu_rate=$(echo "$py_out" | sed -n 's/^series_per_cpu_second=//p')
py_series=$(stats)

# every round of both must have arrived: the workload's series (+ target_info for prw; python
# also exports once more when its provider shuts down)
echo "sink received: prw $rust_series series for $((ROUNDS + 1)) exports of $SERIES, python $py_series for $((PY_ROUNDS + 2))"
if (( rust_series < SERIES * (ROUNDS + 1) || py_series < SERIES * (PY_ROUNDS + 2) )); then
    echo "a sender lost series" >&2
    exit 1
fi
python3 -c "import sys; r, p = float(sys.argv[1]), float(sys.argv[2]); print(f'wall: prw {r:,.0f} series/s, python {p:,.0f} series/s: {r / p:.1f}x')" "$rust_rate" "$py_rate"
python3 -c "import sys; r, p = float(sys.argv[1]), float(sys.argv[2]); print(f'CPU:  prw {r:,.0f} series/CPU-s, python {p:,.0f} series/CPU-s: {r / p:.1f}x')" "$rust_cpu_rate" "$py_cpu_rate"
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
