"""Real QEMU live migrations, measured (bench/qemu; run by ``make calibrate``, never by CI).

One run (:func:`run_migration`):

1. a destination QEMU waits with ``-incoming tcp:127.0.0.1:<port>``; a delaying relay
   (``relay.py``: RTT and a window) listens in front of it;
2. a source QEMU boots the cloud kernel with a tiny initramfs whose init runs ``dirtier.c`` (a
   working set rewritten page by page at a paced rate, reported on the serial console once a
   second);
3. once the guest reports a steady rate, QMP sets auto-converge (``migrate-set-capabilities``),
   ``max-bandwidth``, ``downtime-limit`` and the throttle steps (``migrate-set-parameters``),
   starts ``migrate`` to the relay and polls ``query-migrate`` every ~150 ms until the end (and
   again after "completed", which can report total-time 0 at first);
4. the destination guest must keep reporting after the switchover (the migration really worked).

Every process runs in its own process group and is killed in a ``finally`` (also on Ctrl-C).
Under TCG only: ``-accel kvm`` hangs these kernels, and ``-m 256M`` loses dirty bits under TCG
(``-m 262152k`` does not); see /work/shared/PITFALLS.md.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from processes import QMP, Processes, SerialLog

HERE = Path(__file__).resolve().parent
APT_PACKAGES = ("qemu-system-x86", "linux-image-cloud-amd64", "busybox-static", "cpio")
QEMU = "qemu-system-x86_64"
GUEST_MEMORY = "262152k"  # not 256M: QEMU 7.2 TCG loses dirty bits at exactly 256 MiB
POLL_S = 0.15
BOOT_TIMEOUT_S = 90.0
MIGRATION_TIMEOUT_S = 150.0
#: Rate lines the guest must print before the migration starts (the first one includes the fill).
STEADY_LINES = 3

INIT_SCRIPT = """#!/bin/sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
echo "INIT dirtier_ws_mib=${dirtier_ws_mib:-0} dirtier_rate=${dirtier_rate:-0} dirtier_mode=${dirtier_mode:-paced}"
exec /dirtier "${dirtier_ws_mib:-0}" "${dirtier_rate:-0}" "${dirtier_mode:-paced}"
"""


# ---------------------------------------------------------------------------- setup


def ensure_packages() -> None:
    """Install the Debian packages the harness needs, only those missing (idempotent)."""
    missing = []
    for pkg in APT_PACKAGES:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
        if "install ok installed" not in out.stdout:
            missing.append(pkg)
    if not missing:
        return
    print(f"installing {' '.join(missing)} with apt-get", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing], check=True, env=env)


def find_kernel() -> Path:
    """The newest cloud kernel in /boot."""
    kernels = sorted(glob.glob("/boot/vmlinuz-*-cloud-amd64"))
    if not kernels:
        raise RuntimeError("no /boot/vmlinuz-*-cloud-amd64: install linux-image-cloud-amd64")
    return Path(kernels[-1])


def qemu_version() -> str:
    out = subprocess.run([QEMU, "--version"], capture_output=True, text=True, check=True).stdout
    return out.splitlines()[0].strip()


def build_initramfs(build_dir: Path) -> Path:
    """Compile the static dirtier and pack it with busybox into a gzip'd newc cpio (cached by content)."""
    src = (HERE / "dirtier.c").read_bytes()
    busybox = shutil.which("busybox") or "/bin/busybox"
    digest = hashlib.sha256(src + INIT_SCRIPT.encode() + Path(busybox).read_bytes()).hexdigest()[:16]
    out = build_dir / f"initramfs-{digest}.cpio.gz"
    if out.exists():
        return out
    build_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=build_dir) as tmp:
        root = Path(tmp) / "root"
        for d in ("bin", "proc", "dev", "sys"):
            (root / d).mkdir(parents=True)
        subprocess.run(
            ["gcc", "-O2", "-static", "-Wall", "-o", str(root / "dirtier"), str(HERE / "dirtier.c")], check=True
        )
        shutil.copy(busybox, root / "bin" / "busybox")
        (root / "bin" / "sh").symlink_to("busybox")
        (root / "init").write_text(INIT_SCRIPT)
        (root / "init").chmod(0o755)
        files = subprocess.run(["find", "."], cwd=root, capture_output=True, text=True, check=True).stdout
        cpio = subprocess.run(
            ["cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0"],
            cwd=root,
            input=files.encode(),
            capture_output=True,
            check=True,
        ).stdout
        gz = subprocess.run(["gzip", "-9n"], input=cpio, capture_output=True, check=True).stdout
        tmp_out = out.with_suffix(".tmp")
        tmp_out.write_bytes(gz)
        tmp_out.rename(out)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure_line_rate(total_bytes: int = 400_000_000, workdir: Path | None = None) -> float:
    """Bytes/s one TCP stream carries through the relay with no delay and a 64 MiB window: the
    path's own line rate (loopback + relay), the speed QEMU's stop-and-copy can reach when
    ``max-bandwidth`` no longer holds it (the engine's ``switchover_bandwidth_bps``)."""
    import threading

    sink = socket.socket()
    sink.bind(("127.0.0.1", 0))
    sink.listen()
    received = [0]
    done = threading.Event()

    def drain() -> None:
        conn, _ = sink.accept()
        with conn:
            while chunk := conn.recv(1 << 20):
                received[0] += len(chunk)
        done.set()

    threading.Thread(target=drain, daemon=True).start()
    procs = Processes()
    own_dir = workdir is None
    log_dir = Path(tempfile.mkdtemp(prefix="hc-qemu-line-")) if own_dir else workdir
    try:
        port = free_port()
        relay = procs.start(
            [sys.executable, str(HERE / "relay.py"), "--listen", str(port), "--target", str(sink.getsockname()[1])]
            + ["--rtt-ms", "0", "--window-bytes", str(64 * 2**20)],
            log_dir / "line-rate-relay.log",
            stdout_pipe=True,
        )
        relay.stdout.readline()
        block = b"\xa5" * (1 << 20)
        t0 = time.monotonic()
        with socket.create_connection(("127.0.0.1", port)) as conn:
            for _ in range(total_bytes // len(block)):
                conn.sendall(block)
        done.wait(60)
        return received[0] / (time.monotonic() - t0)
    finally:
        procs.close()
        sink.close()
        if own_dir:
            shutil.rmtree(log_dir, ignore_errors=True)


def _cpu_busy() -> tuple[float, float]:
    with open("/proc/stat") as f:
        fields = [float(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


# ---------------------------------------------------------------------------- one run


@dataclass(frozen=True)
class RunSpec:
    """The inputs of one real migration."""

    name: str
    working_set_mib: int  # 0: idle guest
    dirty_rate_bps: float  # target rate of the dirtier (0: idle)
    max_bandwidth_bps: int  # QMP max-bandwidth
    downtime_limit_ms: int  # QMP downtime-limit
    auto_converge: bool
    rtt_ms: float  # relay
    window_bytes: int  # relay
    cpu_throttle_initial: int = 20
    cpu_throttle_increment: int = 10
    dirtier_mode: str = "paced"  # "paced" (by the clock) or "tick" (fixed work per tick): dirtier.c


_RAM_KEYS = ("transferred", "remaining", "total", "duplicate", "normal", "normal-bytes", "dirty-sync-count", "mbps")
_RAM_KEYS += ("dirty-pages-rate", "pages-per-second", "postcopy-requests", "precopy-bytes", "downtime-bytes")


def _sample(t: float, info: dict[str, Any]) -> dict[str, Any]:
    ram = info.get("ram", {})
    s = {"t": round(t, 3), "status": info.get("status")}
    s.update({k: ram[k] for k in _RAM_KEYS if k in ram})
    for k in ("cpu-throttle-percentage", "expected-downtime", "total-time", "setup-time", "downtime"):
        if k in info:
            s[k] = info[k]
    return s


def _qemu_cmd(kernel: Path, initrd: Path, spec: RunSpec, qmp: Path, serial: Path, incoming: int | None) -> list[str]:
    append = (
        f"console=ttyS0 quiet panic=-1 dirtier_ws_mib={spec.working_set_mib} dirtier_rate={int(spec.dirty_rate_bps)} "
        f"dirtier_mode={spec.dirtier_mode}"
    )
    cmd = [QEMU, "-accel", "tcg", "-machine", "pc", "-cpu", "qemu64", "-smp", "1", "-m", GUEST_MEMORY]
    cmd += ["-nodefaults", "-no-user-config", "-display", "none", "-vga", "none", "-no-reboot"]
    cmd += ["-kernel", str(kernel), "-initrd", str(initrd), "-append", append]
    cmd += ["-serial", f"file:{serial}", "-qmp", f"unix:{qmp},server=on,wait=off"]
    if incoming is not None:
        cmd += ["-incoming", f"tcp:127.0.0.1:{incoming}"]
    return cmd


def _start(spec: RunSpec, kernel: Path, initrd: Path, workdir: Path, procs: Processes) -> int:
    """Start the destination QEMU (waiting for its incoming migration), the relay in front of it and the source
    QEMU; return the relay's port."""
    dst_port, relay_port = free_port(), free_port()
    for name in ("src.qmp", "dst.qmp", "src.serial", "dst.serial"):
        (workdir / name).unlink(missing_ok=True)
    procs.start(
        _qemu_cmd(kernel, initrd, spec, workdir / "dst.qmp", workdir / "dst.serial", dst_port), workdir / "dst.log"
    )
    relay = procs.start(
        [sys.executable, str(HERE / "relay.py"), "--listen", str(relay_port), "--target", str(dst_port)]
        + ["--rtt-ms", str(spec.rtt_ms), "--window-bytes", str(spec.window_bytes)],
        workdir / "relay.log",
        stdout_pipe=True,
    )
    ready = relay.stdout.readline().decode()
    if not ready.startswith("READY"):
        raise RuntimeError(f"relay did not start: {ready!r}")
    procs.start(_qemu_cmd(kernel, initrd, spec, workdir / "src.qmp", workdir / "src.serial", None), workdir / "src.log")
    return relay_port


def _wait_steady(src_serial: SerialLog, t0: float, record: dict[str, Any]) -> float:
    """Boot and let the dirtier reach its steady rate (recorded); return the boot time."""
    while len(src_serial.rates()) < STEADY_LINES:
        src_serial.poll()
        if time.monotonic() - t0 > BOOT_TIMEOUT_S:
            raise RuntimeError(f"guest did not report {STEADY_LINES} rate lines in {BOOT_TIMEOUT_S:.0f} s")
        time.sleep(0.1)
    steady = src_serial.rates()[1:]
    record["guest_rate_before_bps"] = sum(r[2] for r in steady) / len(steady)
    return time.monotonic() - t0


def _configure(src: QMP, spec: RunSpec, record: dict[str, Any]) -> None:
    """Auto-converge, max-bandwidth, downtime-limit and the throttle steps, as QEMU then reports them."""
    src.execute(
        "migrate-set-capabilities",
        capabilities=[{"capability": "auto-converge", "state": spec.auto_converge}],
    )
    src.execute(
        "migrate-set-parameters",
        **{
            "max-bandwidth": spec.max_bandwidth_bps,
            "downtime-limit": spec.downtime_limit_ms,
            "cpu-throttle-initial": spec.cpu_throttle_initial,
            "cpu-throttle-increment": spec.cpu_throttle_increment,
        },
    )
    record["migrate_parameters"] = src.execute("query-migrate-parameters")
    record["capabilities"] = {
        c["capability"]: c["state"] for c in src.execute("query-migrate-capabilities") if c["state"]
    }


def _migrate(src: QMP, src_serial: SerialLog, relay_port: int, record: dict[str, Any]) -> tuple[dict, list, float]:
    """Migrate through the relay, polling ``query-migrate`` until the end; return (final info, series, wall s)."""
    t_mig = time.monotonic()
    src.execute("migrate", uri=f"tcp:127.0.0.1:{relay_port}")
    series = []
    info: dict[str, Any] = {}
    while True:
        info = src.execute("query-migrate")
        series.append(_sample(time.monotonic() - t_mig, info))
        src_serial.poll()
        if info.get("status") in ("completed", "failed", "cancelled"):
            break
        if time.monotonic() - t_mig > MIGRATION_TIMEOUT_S:
            src.execute("migrate_cancel")
            record["error"] = f"did not converge within {MIGRATION_TIMEOUT_S:.0f} s: cancelled"
        time.sleep(POLL_S)
    wall_s = time.monotonic() - t_mig
    for _ in range(40):  # "completed" can be read before total-time is filled in
        if info.get("status") != "completed" or info.get("total-time"):
            break
        time.sleep(0.05)
        info = src.execute("query-migrate")
    return info, series, wall_s


def _judge(record: dict[str, Any], info: dict[str, Any]) -> None:
    """The run's error, if it did not complete or the guest did not go on running on the destination."""
    if info.get("status") != "completed" and not record["error"]:
        record["error"] = f"migration ended {info.get('status')}: {info.get('error-desc', '')}"
    elif not record["destination_guest_alive"] and not record["error"]:
        record["error"] = "the guest did not run on the destination after the switchover"


def run_migration(spec: RunSpec, kernel: Path, initrd: Path, workdir: Path) -> dict[str, Any]:
    """Run one real migration and return its record (inputs, guest rates, time series, final stats)."""
    workdir.mkdir(parents=True, exist_ok=True)
    procs = Processes()
    qmps: list[QMP] = []
    t0 = time.monotonic()
    load_before = os.getloadavg()
    record: dict[str, Any] = {"name": spec.name, "inputs": asdict(spec), "error": None}
    try:
        relay_port = _start(spec, kernel, initrd, workdir, procs)
        src = QMP(workdir / "src.qmp")
        qmps.append(src)
        dst = QMP(workdir / "dst.qmp")
        qmps.append(dst)
        src_serial = SerialLog(workdir / "src.serial", t0)
        dst_serial = SerialLog(workdir / "dst.serial", t0)
        boot_s = _wait_steady(src_serial, t0, record)
        _configure(src, spec, record)
        busy0 = _cpu_busy()
        t_mig = time.monotonic()
        info, series, wall_s = _migrate(src, src_serial, relay_port, record)
        busy1 = _cpu_busy()
        # The guest must go on running on the destination.
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline and not dst_serial.rates():
            dst_serial.poll()
            time.sleep(0.1)
        src_serial.poll()
        record.update(
            {
                "status": info.get("status"),
                "final": info,
                "series": series,
                "wall_time_s": round(wall_s, 3),
                "boot_s": round(boot_s, 3),
                "guest_rates_source": [(t - (t_mig - t0), g, r) for t, g, r in src_serial.rates()],
                "guest_rates_destination": [(t - (t_mig - t0), g, r) for t, g, r in dst_serial.rates()],
                "destination_status": dst.execute("query-status"),
                "destination_guest_alive": bool(dst_serial.rates()),
                "host_cpu_busy_during_migration": round((busy1[0] - busy0[0]) / max(1e-9, busy1[1] - busy0[1]), 3),
            }
        )
        _judge(record, info)
    except Exception as exc:  # recorded, then the next run goes on
        record["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        for q in qmps:
            with contextlib.suppress(OSError):
                q.close()
        procs.close()
        record["load_avg_before"] = [round(x, 2) for x in load_before]
        record["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    return record
