"""A hostile program for the sandbox tests: ``python sandbox_probe.py ESCAPE ARG...`` tries one escape and prints
what it got, one ``ESCAPED ...`` or ``BLOCKED ...`` line per attempt (the test checks the effect from outside too).

Standard library only: it runs with whatever interpreter the sandbox gives it.
"""

from __future__ import annotations

import glob
import os
import signal
import socket
import subprocess
import sys


def read(paths: list[str]) -> None:
    """Read files (a home's SSH key, a file in /root)."""
    for path in paths:
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                print(f"ESCAPED read {path}: {fh.read()!r}")
        except OSError as exc:
            print(f"BLOCKED read {path}: {exc}")


def environ(pids: list[str]) -> None:
    """Dump this process's environment and every readable /proc/PID/environ, the parent's named first."""
    print("OWN ENV " + " ".join(f"{k}={v}" for k, v in os.environ.items()))
    for path in [f"/proc/{pid}/environ" for pid in pids] + sorted(glob.glob("/proc/[0-9]*/environ")):
        try:
            with open(path, "rb") as fh:
                print(f"ESCAPED environ {path}: {fh.read().decode(errors='replace')!r}")
        except OSError as exc:
            print(f"BLOCKED environ {path}: {exc}")


def connect(ports: list[str]) -> None:
    """Connect to a listener on the host's loopback."""
    for port in ports:
        try:
            with socket.create_connection(("127.0.0.1", int(port)), timeout=3) as conn:
                conn.sendall(b"escaped\n")
                print(f"ESCAPED connect 127.0.0.1:{port}")
        except OSError as exc:
            print(f"BLOCKED connect 127.0.0.1:{port}: {exc}")


def write(paths: list[str]) -> None:
    """Write files outside the repository (the test checks whether they appear on the host)."""
    for path in paths:
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write("escaped\n")
            print(f"WROTE {path} (the test checks whether the host sees it)")
        except OSError as exc:
            print(f"BLOCKED write {path}: {exc}")


def daemon(markers: list[str]) -> None:
    """Start a detached daemon, named by the marker, that should not outlive the command."""
    for marker in markers:
        script = f"exec -a {marker} sleep 300"
        subprocess.Popen(
            ["setsid", "nohup", "bash", "-c", script],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        print(f"STARTED daemon {marker}")


def kill(pids: list[str]) -> None:
    """SIGTERM processes outside (a process of the test standing in for papercoder); signal 0 for the test itself."""
    for spec in pids:
        sig, pid = (signal.SIGTERM, spec) if not spec.startswith("0:") else (0, spec[2:])
        try:
            os.kill(int(pid), sig)
            print(f"ESCAPED kill -{int(sig)} {pid}")
        except OSError as exc:
            print(f"BLOCKED kill -{int(sig)} {pid}: {exc}")


ESCAPES = {"read": read, "environ": environ, "connect": connect, "write": write, "daemon": daemon, "kill": kill}

if __name__ == "__main__":
    ESCAPES[sys.argv[1]](sys.argv[2:])
