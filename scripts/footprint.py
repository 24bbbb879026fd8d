#!/usr/bin/env python3
"""Measures the daemon's footprint on the embedded defaults (SQLite, maildir):

  * start to READY: from spawning `rrn run` to the READY=1 it sends to $NOTIFY_SOCKET
    (a datagram socket this script listens on, as systemd does for Type=notify);
  * idle RSS: VmRSS from /proc after the first run, with no cases;
  * idle CPU: user + system time the process spends over the idle period.

Usage: scripts/footprint.py [--binary target/release/rrn] [--idle-seconds 600] [--starts 20]
"""
import argparse
import os
import socket
import subprocess
import statistics
import tempfile
import threading
import time


def clock_ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def start(binary, folder, sock_path):
    env = dict(os.environ)
    env.update(
        NOTIFY_SOCKET=sock_path,
        RRN_DATABASE__URL=f"sqlite://{folder}/rrn.db",
        RRN_MAIL__MAILDIR=f"{folder}/maildir",
        STATE_DIRECTORY=folder,
    )
    env.pop("RRN_CONFIG", None)
    return subprocess.Popen(
        [binary, "--config", os.path.join(os.path.dirname(__file__), "..", "config", "rrn.toml"), "run"],
        env=env,
        stderr=subprocess.DEVNULL,
    )


def wait_ready(sock, timeout=10.0):
    sock.settimeout(timeout)
    while True:
        message = sock.recv(4096).decode()
        if "READY=1" in message.split("\n"):
            return


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/rrn")
    parser.add_argument("--idle-seconds", type=int, default=600)
    parser.add_argument("--starts", type=int, default=20)
    args = parser.parse_args()
    hz = os.sysconf("SC_CLK_TCK")
    with tempfile.TemporaryDirectory() as folder:
        sock_path = os.path.join(folder, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(sock_path)
        # Start to READY, on an existing database (the usual restart) after a first start
        # that creates it.
        times = []
        for n in range(args.starts + 1):
            began = time.monotonic()
            process = start(args.binary, folder, sock_path)
            wait_ready(sock)
            elapsed = (time.monotonic() - began) * 1000
            if n > 0:
                times.append(elapsed)
            else:
                print(f"first start (creates the database): {elapsed:.0f} ms to READY")
            process.terminate()
            process.wait(timeout=10)
        print(
            f"start to READY over {args.starts} restarts: median {statistics.median(times):.0f} ms, "
            f"max {max(times):.0f} ms"
        )
        process = start(args.binary, folder, sock_path)
        wait_ready(sock)
        # Keep reading, as systemd does.
        sock.settimeout(None)
        threading.Thread(target=lambda: [sock.recv(4096) for _ in iter(int, 1)], daemon=True).start()
        time.sleep(5)
        before = clock_ticks(process.pid)
        rss_start = rss_kib(process.pid)
        time.sleep(args.idle_seconds)
        cpu = (clock_ticks(process.pid) - before) / hz
        rss_end = rss_kib(process.pid)
        print(f"idle RSS: {rss_start / 1024:.1f} MiB after start, {rss_end / 1024:.1f} MiB after {args.idle_seconds} s")
        print(f"CPU time over {args.idle_seconds} idle seconds: {cpu:.2f} s")
        began = time.monotonic()
        process.terminate()
        process.wait(timeout=10)
        print(f"SIGTERM to exit: {(time.monotonic() - began) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
