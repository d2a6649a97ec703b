#!/usr/bin/python3
"""Plots a soak's CSV (relay/examples/soak.rs) as one PNG: RSS, open file descriptors, threads
and tokio tasks, store entries, and the p50/p99 latency and requests of each interval, over
time, with the warm-up shaded.

    plot_soak.py soak.csv soak.png [warm-up minutes]
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    source, target = sys.argv[1], sys.argv[2]
    warmup = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
    with open(source, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    minutes = [float(r["seconds"]) / 60 for r in rows]
    column = lambda name: [float(r[name]) for r in rows]  # noqa: E731
    panels = [
        ("RSS (MiB)", [("rss", [v / 1024 for v in column("rss_kib")])]),
        ("open fds, threads, tasks", [("open fds", column("open_fds")),
                                      ("threads", column("threads")),
                                      ("tokio tasks", column("tasks"))]),
        ("store entries", [("in-memory store", column("store_entries"))]),
        ("latency (ms)", [("p50", column("p50_ms")), ("p99", column("p99_ms"))]),
        ("requests / interval", [("requests", column("requests")),
                                 ("errors", column("errors"))]),
    ]
    figure, axes = plt.subplots(len(panels), 1, figsize=(9, 12), sharex=True)
    for axis, (title, lines) in zip(axes, panels):
        for label, values in lines:
            axis.plot(minutes, values, label=label, linewidth=1.2)
        axis.axvspan(0, warmup, color="0.9", label="warm-up")
        axis.set_ylabel(title)
        axis.set_ylim(bottom=0)
        axis.grid(True, linewidth=0.3)
        axis.legend(loc="lower right", fontsize=8)
    axes[-1].set_xlabel("minutes")
    figure.suptitle("otp-relay soak: the whole flow, wrong codes and hostile requests")
    figure.tight_layout()
    figure.savefig(target, dpi=90)


if __name__ == "__main__":
    main()
