"""The launcher's process as the operating system sees it: is a pid still the launcher, is a
port taken, how its log ends (for an error message)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

LAUNCHER_CLASS = "org.loginsights.solr.SolrLauncher"


def is_launcher(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    zombie = stat.rsplit(")", 1)[-1].split()[0] == "Z"
    return LAUNCHER_CLASS.encode() in cmdline and not zombie


def wait_gone(pid: int, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while is_launcher(pid) and time.monotonic() < deadline:
        time.sleep(0.1)


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


__all__ = ["LAUNCHER_CLASS", "is_launcher", "log_tail", "port_in_use", "wait_gone"]
