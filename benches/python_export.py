#!/usr/bin/env python3
"""The Python exporter's side of benches/export-vs-python.sh.

Exports the same series as `cargo run --release -p prw --example export_throughput`: one counter
`bench.requests` with N attribute sets of five attributes (route, method, status code, region,
id), resource service.name=bench, service.instance.id=bench-1, through
opentelemetry-exporter-prometheus-remote-write to the same sink. Each round adds 1 to every
series (not timed), then times collection + conversion + encoding + compression + sending
(`reader.force_flush()`, which collects and calls the exporter synchronously).

usage: python_export.py URL [N] [ROUNDS]
"""

import statistics
import sys
import time

from opentelemetry.exporter.prometheus_remote_write import PrometheusRemoteWriteMetricsExporter
from opentelemetry.sdk.metrics import Counter, MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource


def main():
    url = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3

    exporter = PrometheusRemoteWriteMetricsExporter(endpoint=url, timeout=120)
    reader = PeriodicExportingMetricReader(
        exporter,
        export_interval_millis=10**9,  # never on its own: rounds are driven by force_flush
        export_timeout_millis=600_000,
        cardinality_limits={Counter: n + 10},
    )
    provider = MeterProvider(
        metric_readers=[reader],
        resource=Resource.create({"service.name": "bench", "service.instance.id": "bench-1"}),
    )
    counter = provider.get_meter("bench").create_counter("bench.requests")
    attrs = [
        {
            "http.route": f"/api/v1/resource{i % 100}",
            "http.request.method": "GET" if i % 2 == 0 else "POST",
            "http.response.status_code": 500 if i % 10 == 0 else 200,
            "cloud.region": f"region-{i % 8}",
            "id": str(i),
        }
        for i in range(n)
    ]

    def record():
        for a in attrs:
            counter.add(1, a)

    record()
    times = []
    cpu = []
    for r in range(rounds + 1):
        record()
        c0 = time.process_time()
        t0 = time.perf_counter()
        if not reader.force_flush(timeout_millis=600_000):
            sys.exit("python exporter: force_flush failed")
        dt = time.perf_counter() - t0
        dc = time.process_time() - c0
        if r > 0:  # round 0 warms up
            times.append(dt)
            cpu.append(dc)
    median = statistics.median(times)
    best = min(times)
    print(
        f"python: {n} series x {rounds} rounds; median {median * 1e3:.1f} ms = {n / median:.0f} series/s; "
        f"best {best * 1e3:.1f} ms = {n / best:.0f} series/s"
    )
    cpu_median = statistics.median(cpu)
    print(f"  CPU (all threads, median per round): {cpu_median * 1e3:.0f} ms = {n / cpu_median:.0f} series per CPU-second")
    print(f"series_per_second={n / median:.0f}")
    print(f"series_per_cpu_second={n / cpu_median:.0f}")
    provider.shutdown()


if __name__ == "__main__":
    main()
