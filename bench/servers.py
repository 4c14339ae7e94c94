"""gunicorn servers for the benchmarks and the CPU they (and PostgreSQL) use."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """One app under gunicorn, in its own process group, with its error log kept."""

    name: str
    app_spec: str
    port: int
    env: dict[str, str]
    workers: int
    log: Path
    worker_class: str = "sync"
    threads: int = 1
    extra_args: list[str] = field(default_factory=list)
    proc: subprocess.Popen | None = None

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "gunicorn", "-w", str(self.workers), "-k", self.worker_class,
               "-b", f"127.0.0.1:{self.port}", "--chdir", str(ROOT), "--log-level", "info",
               "--error-logfile", str(self.log)]
        if self.worker_class == "gthread":
            cmd += ["--threads", str(self.threads)]
        return cmd + self.extra_args + [self.app_spec]

    def start(self) -> None:
        self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"{self.name}: gunicorn exited; see {self.log}:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                status = conn.getresponse().status
                conn.close()
                if status == 200 and len(self.worker_pids()) >= self.workers:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name}: not ready after {timeout:.0f} s; see {self.log}:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        if self.proc is None:
            return []
        return [pid for pid, ppid, _comm in processes() if ppid == self.proc.pid]

    def worker_deaths(self) -> list[str]:
        """Lines of gunicorn's log that tell of a worker killed or exiting abnormally."""
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return []
        markers = ("was sent SIG", "exited with code", "WORKER TIMEOUT", "Fatal Python error",
                   "Segmentation fault")
        return [line for line in lines if any(m in line for m in markers)]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # gunicorn's graceful shutdown of master and workers
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own session, started above
            self.proc.wait(timeout=5)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def processes() -> list[tuple[int, int, str]]:
    """(pid, ppid, comm) of every process we can see."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1: stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        found.append((int(entry.name), ppid, comm))
    return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / CLK_TCK


def postgres_pids(database: str) -> list[int]:
    """PostgreSQL's shared processes (WAL writer, checkpointer...) and the backends of our database only:
    other projects' sessions on the same server are background load, not ours."""
    pids = []
    for pid, _ppid, comm in processes():
        if not comm.startswith("postgres"):
            continue
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "(" not in title or f" {database} " in title:  # client backends show "user db host(port) state"
            pids.append(pid)
    return pids


def machine_busy_seconds() -> float:
    """CPU time used by everything on the machine (all cores), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / CLK_TCK


def cpu_snapshot(server: Server, database: str) -> dict[str, float]:
    return {
        "server": cpu_seconds(server.worker_pids()),
        "postgres": cpu_seconds(postgres_pids(database)),  # a backend lives as long as its pooled connection
        "client": time.process_time(),
        "machine": machine_busy_seconds(),
    }
