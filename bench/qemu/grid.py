"""Run the calibration grid of real QEMU migrations: ``python bench/qemu/grid.py`` (``make calibrate``).

24 runs = 2 networks x 3 bandwidths x 4 guests:

- networks (the relay): ``lan`` 2 ms RTT, 4 MiB window (never binds); ``wan`` 40 ms RTT, 1.5 MiB
  window (at most 39.3 MB/s: binds at 62.5 MB/s);
- ``max-bandwidth``: 12.5, 31.25, 62.5 MB/s (100, 250, 500 Mbit/s);
- guests: ``idle`` (nothing dirtied), ``moderate`` (32 MiB rewritten at 0.6 x the effective rate,
  auto-converge off, then on), ``heavy`` (48 MiB at 1.3 x the effective rate, auto-converge on:
  it cannot converge without it);
- ``downtime-limit`` 100 or 400 ms, alternated so that both meet every guest and network.

``--dirtier-mode tick`` runs the same grid with a guest whose dirtying follows the CPU time it
gets (``bench/qemu/results/tick/``, reported but not held to tolerance).

Each run is written to ``bench/qemu/results/<name>.json`` (inputs, time series, final stats, QEMU
version, date, host load). ``--only NAME`` reruns one; ``--list`` prints the grid.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402
import processes  # noqa: E402

RESULTS = HERE / "results"
NETWORKS = {"lan": (2.0, 4 * 2**20), "wan": (40.0, 3 * 2**19)}
BANDWIDTHS = (12_500_000, 31_250_000, 62_500_000)
DOWNTIMES_MS = (100, 400)


def grid(dirtier_mode: str = "paced") -> list[harness.RunSpec]:
    """The runs of the grid, in order."""
    specs = []
    for net, (rtt_ms, window) in NETWORKS.items():
        for i, bw in enumerate(BANDWIDTHS):
            effective = min(bw, window / (rtt_ms / 1000.0))
            guests = [
                ("idle", 0, 0.0, i == 1, DOWNTIMES_MS[i % 2]),
                ("moderate", 32, 0.6 * effective, False, DOWNTIMES_MS[i % 2]),
                ("moderate-ac", 32, 0.6 * effective, True, DOWNTIMES_MS[(i + 1) % 2]),
                ("heavy-ac", 48, 1.3 * effective, True, DOWNTIMES_MS[(i + 1) % 2]),
            ]
            for guest, ws, rate, ac, dl in guests:
                specs.append(
                    harness.RunSpec(
                        name=f"{net}-{bw / 1e6:g}MBps-{guest}-dl{dl}",
                        working_set_mib=ws,
                        dirty_rate_bps=round(rate, -3),
                        max_bandwidth_bps=bw,
                        downtime_limit_ms=dl,
                        auto_converge=ac,
                        rtt_ms=rtt_ms,
                        window_bytes=window,
                        dirtier_mode=dirtier_mode,
                    )
                )
    return specs


def main() -> int:
    parser = argparse.ArgumentParser(description="Run the QEMU calibration grid.")
    parser.add_argument("--only", action="append", help="run only this run name (repeatable)")
    parser.add_argument("--list", action="store_true", help="print the grid and exit")
    parser.add_argument(
        "--dirtier-mode",
        choices=("paced", "tick"),
        default="paced",
        help="how the guest paces its writes (dirtier.c); 'tick' results go to results/tick/",
    )
    args = parser.parse_args()
    specs = grid(args.dirtier_mode)
    results = RESULTS if args.dirtier_mode == "paced" else RESULTS / args.dirtier_mode
    if args.list:
        for s in specs:
            print(s.name, s)
        return 0
    if args.only:
        unknown = set(args.only) - {s.name for s in specs}
        if unknown:
            print(f"unknown run name(s): {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        specs = [s for s in specs if s.name in args.only]

    harness.ensure_packages()
    kernel = harness.find_kernel()
    work = Path(tempfile.mkdtemp(prefix="hc-qemu-calibrate-"))
    results.mkdir(parents=True, exist_ok=True)
    meta = {
        "qemu_version": harness.qemu_version(),
        "kernel": kernel.name,
        "host": {"cpus": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version()},
        "accel": "tcg",
        "guest_memory": harness.GUEST_MEMORY,
        "poll_s": harness.POLL_S,
    }
    failures = 0
    started = time.monotonic()
    try:
        with processes.terminate_on_sigterm():
            initrd = harness.build_initramfs(work / "build")
            meta["path_line_rate_bps"] = round(harness.measure_line_rate(workdir=work))
            print(f"line rate of the relay path: {meta['path_line_rate_bps'] / 1e6:.0f} MB/s", flush=True)
            failures = _run_all(specs, kernel, initrd, work, results, meta)
    except KeyboardInterrupt:
        print("\ninterrupted: every QEMU and relay of the run was stopped", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(specs)} runs in {time.monotonic() - started:.0f} s, {failures} failed")
    return 1 if failures else 0


def _run_all(specs: list, kernel: Path, initrd: Path, work: Path, results: Path, meta: dict) -> int:
    """Run every spec, write its record, print a line each; return how many failed."""
    failures = 0
    for n, spec in enumerate(specs, 1):
        print(f"[{n}/{len(specs)}] {spec.name} ...", end=" ", flush=True)
        record = harness.run_migration(spec, kernel, initrd, work / spec.name)
        record.update(meta)
        record["date"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        (results / f"{spec.name}.json").write_text(json.dumps(record, indent=1) + "\n")
        final = record.get("final") or {}
        ram = final.get("ram", {})
        if record["error"]:
            failures += 1
            print(f"ERROR {record['error']}")
        else:
            print(
                f"{final.get('total-time')} ms, downtime {final.get('downtime')} ms, "
                f"{ram.get('transferred', 0) / 1e6:.1f} MB, syncs {ram.get('dirty-sync-count')}, "
                f"guest {record['guest_rate_before_bps'] / 1e6:.1f} MB/s, load {record['load_avg_after'][0]}"
            )
    return failures


if __name__ == "__main__":
    sys.exit(main())
