#!/usr/bin/env python3
"""Reads bench/peers/run.sh's rows on stdin and prints the Markdown table of Sluice / peer ratios.

A row is `peer=P workload=W size=S acks=A metric=M value=V unit=U`; other lines are ignored.
Each pair in PAIRS compares a Sluice-side peer with another peer on every figure both have with
the same workload, size and metric (and acks, where both give one). "Sluice ×" is how many times
better Sluice is: sluice / peer for rates (records/s, lines/s), peer / sluice for times (ms, s).
Exits 1 if a row does not parse, or if no pair had a figure in common.

  ratios.py [--require WORKLOAD]...

--require also exits 1 unless every peer that WORKLOAD measures printed each of its throughput
figures (the check of the ctest bench_peers_cli).
"""
import sys

PAIRS = [
    ("sluice-serve+kafka_load", "kafka+kafka_load"),
    ("sluice-embedded+sluice-cli", "redis+redis-cli"),
    ("sluice-embedded+sluice-cli", "kafka+kcat"),
    ("sluice-serve+kcat", "kafka+kcat"),
    ("sluice-serve+sluice-cli", "kafka+sluice-cli"),
    ("sluice-embedded", "kafka+kafka-streams"),
    ("sluice+kafka", "kafka+kafka-streams"),
    ("sluice-embedded", "flink-minicluster"),
]
KEYS = ["peer", "workload", "size", "acks", "metric", "value", "unit"]
# Not in the table: the same figure in other units, settings echoed as rows, and the load
# client's own CPU in the broker workload (the same program against both brokers).
SKIP = {"produce_MBps", "consume_MBps", "latency_rate", "latency_max", "latency_client_cpu"}
SKIP_BROKER = {"produce_client_cpu", "consume_client_cpu"}
HIGHER_IS_BETTER = {"records/s", "lines/s", "bids/s", "MB/s"}
# What each workload of run.sh prints at least: peer -> throughput metrics.
REQUIRED = {
    "broker": {p: ["produce_throughput", "consume_throughput", "latency_p99"]
               for p in ("sluice-serve+kafka_load", "kafka+kafka_load")},
    "cli": {p: ["produce_throughput", "consume_throughput"]
            for p in ("sluice-embedded+sluice-cli", "sluice-serve+sluice-cli", "sluice-serve+kcat",
                      "kafka+kcat", "kafka+sluice-cli", "redis+redis-cli")},
    "wordcount": {p: ["throughput"]
                  for p in ("kafka+kafka-streams", "sluice+kafka", "sluice-embedded")},
    "nexmark": {p: ["throughput", "bids_per_cpu_s"]
                for p in ("sluice-embedded", "flink-minicluster")},
}


def parse(line):
    fields = line.split()
    if len(fields) != len(KEYS):
        raise ValueError(f"expected {len(KEYS)} fields: {line!r}")
    row = {}
    for key, field in zip(KEYS, fields):
        k, sep, v = field.partition("=")
        if k != key or not sep or not v:
            raise ValueError(f"expected {key}=VALUE, got {field!r} in {line!r}")
        row[k] = v
    row["value"] = float(row["value"])
    return row


def main(argv):
    required = []
    args = list(argv)
    while args:
        if args[0] == "--require" and len(args) > 1 and args[1] in REQUIRED:
            required.append(args[1])
            del args[:2]
        else:
            print(f"usage: ratios.py [--require {'|'.join(REQUIRED)}]...", file=sys.stderr)
            return 2
    rows = []
    for line in sys.stdin:
        if line.startswith("peer="):
            try:
                rows.append(parse(line))
            except ValueError as e:
                print(f"ratios.py: {e}", file=sys.stderr)
                return 1
    for workload in required:
        for peer, metrics in REQUIRED[workload].items():
            for metric in metrics:
                if not any(r["peer"] == peer and r["metric"] == metric and
                           r["workload"].startswith(workload) and r["value"] > 0 for r in rows):
                    print(f"ratios.py: no {metric} row for {peer} in workload {workload}",
                          file=sys.stderr)
                    return 1
    out = []
    for ours, theirs in PAIRS:
        for a in rows:
            if a["peer"] != ours or a["metric"] in SKIP:
                continue
            if a["workload"] == "broker" and a["metric"] in SKIP_BROKER:
                continue
            for b in rows:
                if b["peer"] != theirs or (b["workload"], b["size"], b["metric"]) != (
                        a["workload"], a["size"], a["metric"]):
                    continue
                if a["acks"] != b["acks"] and "-" not in (a["acks"], b["acks"]):
                    continue
                if a["value"] <= 0 or b["value"] <= 0:
                    x = "n/a"
                elif a["unit"] in HIGHER_IS_BETTER:
                    x = f"{a['value'] / b['value']:.2f}"
                else:
                    x = f"{b['value'] / a['value']:.2f}"
                acks = a["acks"] if a["acks"] != "-" else b["acks"]
                out.append(f"| {a['workload']} | {a['size']} | {acks} | {a['metric']} | {ours} | "
                           f"{a['value']:g} | {theirs} | {b['value']:g} | {a['unit']} | {x} |")
    if not out:
        print("ratios.py: no figure to compare (did every workload fail?)", file=sys.stderr)
        return 1
    print("| workload | size | acks | metric | Sluice side | value | peer | value | unit | Sluice × |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
