"""`finops serve` under load: many clients, idle connections, bounded threads and descriptors.

Starts the real `finops serve` (a child process) over the seed-7 5 MB CSV,
then from this process (asyncio, raw HTTP/1.1 keep-alive connections):

1. load: CLIENTS concurrent clients for SECONDS, each in a closed loop
   (next request as soon as the answer is read, no think time), then paced
   (one request a second each, like open viewers at the fastest poll), over the
   viewer's real traffic mix: manifest.json polls, index.html, report pages,
   downloads and assets, half of the asset/report requests conditional
   (If-None-Match, answered 304). Prints requests/s, errors, p50/p95/p99/max.
2. idle: opens IDLE connections that send nothing, then times normal
   requests one at a time beside them, against the same done without them.
3. the server process's threads and open descriptors, sampled every 0.25 s
   in each phase, and after the idle connections were reclaimed.

Goals (issue 12): 0 errors and p99 < 200 ms for 200 clients over 30 s; idle
connections do not slow a normal request; threads and descriptors bounded.
This is a benchmark, not a test: figures depend on the machine and on what
else runs on it (the load generator shares the cores with the server).

The load phase uses wrk (Debian's `wrk`, a C load generator) when it is
installed, with a Lua script replaying the same mix and ETags, because a
Python client on the same two cores takes CPU from the server and adds its
own queueing to the latencies; `--client python` forces the asyncio client.

Usage: python bench/bench_serve_load.py [--clients 200] [--seconds 30] [--idle 1000]
                                        [--client auto|wrk|python]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import shutil
import socket
import tempfile
import subprocess
import sys
import threading
import time
from pathlib import Path

from common import FINOPS, OUT, machine, simulate


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_stats(pid: int) -> tuple[int, int]:
    """(threads, open descriptors) of a process."""
    threads = 0
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("Threads:"):
                threads = int(line.split()[1])
    return threads, len(os.listdir(f"/proc/{pid}/fd"))


class Sampler:
    def __init__(self, pid: int):
        self.pid, self.samples, self._stop = pid, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.samples.append(proc_stats(self.pid))
            except OSError:
                pass
            self._stop.wait(0.25)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def summary(self) -> str:
        if not self.samples:
            return "no samples"
        threads = [t for t, _ in self.samples]
        fds = [f for _, f in self.samples]
        return f"threads {min(threads)}-{max(threads)}, descriptors {min(fds)}-{max(fds)}"


async def open_conn(port: int):
    return await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)


async def request(reader, writer, host: bytes, path: str, etag: str | None) -> tuple[int, str | None]:
    extra = f"If-None-Match: {etag}\r\n".encode() if etag else b""
    writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: " + host + b"\r\n" + extra + b"\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    if length:
        await reader.readexactly(int(length.group(1)))
    tag = re.search(rb"(?i)\r\netag: *([^\r\n]+)", head)
    if re.search(rb"(?i)\r\nconnection: *close", head):
        raise ConnectionResetError("server closed the connection")
    return status, tag.group(1).decode() if tag else None


def traffic(site: Path) -> list[tuple[str, bool]]:
    """(path, conditional) weighted like a team's open viewers."""
    manifest = json.loads((site / "manifest.json").read_text())
    reports = [r["file"] for r in manifest["reports"] if r.get("file")]
    downloads = [d for r in manifest["reports"] for d in r.get("downloads", [])][:2]
    assets = sorted(p.name for p in (site / "assets").iterdir())
    mix = [("/manifest.json", False)] * 10 + [("/index.html", False)] * 3
    mix += [(f"/{r}", c) for r in reports for c in (False, True)]
    mix += [(f"/assets/{a}", True) for a in assets] + [(f"/assets/{a}", False) for a in assets[:2]]
    mix += [(f"/{d}", False) for d in downloads]
    return mix


async def client(port: int, host: bytes, mix, end: float, latencies: list[float], errors: list[str],
                 statuses: dict[int, int], think: float = 0.0):
    etags: dict[str, str] = {}
    conn = None
    if think:
        await asyncio.sleep(random.uniform(0, think))  # browsers do not poll in step
    while time.monotonic() < end:
        if think and latencies is not None and conn is not None:
            await asyncio.sleep(think)
        path, conditional = random.choice(mix)
        t0 = time.perf_counter()
        try:
            if conn is None:
                conn = await open_conn(port)
            status, tag = await asyncio.wait_for(
                request(*conn, host, path, etags.get(path) if conditional else None), 10)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError) as exc:
            errors.append(type(exc).__name__)
            if conn:
                conn[1].close()
            conn = None
            continue
        latencies.append(time.perf_counter() - t0)
        statuses[status] = statuses.get(status, 0) + 1
        if status not in (200, 304):
            errors.append(f"HTTP {status}")
        if tag:
            etags[path] = tag
    if conn:
        conn[1].close()


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))] * 1000


async def load_phase(port: int, clients: int, seconds: float, mix, pid: int,
                     think: float = 0.0) -> None:
    cpu0 = cpu_seconds(pid)
    host = f"127.0.0.1:{port}".encode()
    latencies: list[float] = []
    errors: list[str] = []
    statuses: dict[int, int] = {}
    end = time.monotonic() + seconds
    t0 = time.perf_counter()
    await asyncio.gather(*(client(port, host, mix, end, latencies, errors, statuses, think)
                           for _ in range(clients)))
    took = time.perf_counter() - t0
    how = f"one request every {think:g} s each" if think else "closed loop"
    print(f"load ({how}): {clients} clients x {seconds:g} s: {len(latencies):,} requests, "
          f"{len(latencies) / took:,.0f} req/s, errors {len(errors)}"
          f"{' (' + ', '.join(sorted(set(errors))) + ')' if errors else ''}, "
          f"statuses {dict(sorted(statuses.items()))}")
    print(f"      latency ms: p50 {pct(latencies, 50):.1f}  p95 {pct(latencies, 95):.1f}  "
          f"p99 {pct(latencies, 99):.1f}  max {max(latencies) * 1000:.1f}  "
          f"(goal: 0 errors, p99 < 200)")
    cpu = cpu_seconds(pid) - cpu0
    print(f"      server CPU: {cpu:.1f} s in {took:.1f} s ({cpu / took * 100:.0f}% of one core), "
          f"{cpu / max(1, len(latencies)) * 1e6:.0f} us per request; load average now "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


async def fetch_etags(port: int, mix) -> dict[str, str]:
    host = f"127.0.0.1:{port}".encode()
    conn = await open_conn(port)
    tags = {}
    for path, conditional in mix:
        if conditional and path not in tags:
            _, tag = await request(*conn, host, path, None)
            tags[path] = tag
    conn[1].close()
    return tags


WRK_SCRIPT = """
local reqs = {%s}
request = function()
  return reqs[math.random(#reqs)]
end
"""


def wrk_phase(port: int, clients: int, seconds: float, mix, pid: int) -> None:
    tags = asyncio.run(fetch_etags(port, mix))
    lua_items = []
    for path, conditional in mix:
        headers = {"Host": f"127.0.0.1:{port}"}
        if conditional and tags.get(path):
            headers["If-None-Match"] = tags[path]
        pairs = ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items())
        lua_items.append(f'wrk.format("GET", {json.dumps(path)}, {{{pairs}}})')
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(WRK_SCRIPT % ", ".join(lua_items))
        script = fh.name
    cpu0 = cpu_seconds(pid)
    t0 = time.perf_counter()
    out = subprocess.run(["wrk", "-t2", f"-c{clients}", f"-d{seconds:g}s", "--latency",
                          "--timeout", "10s", "-s", script, f"http://127.0.0.1:{port}/"],
                         capture_output=True, text=True).stdout
    took = time.perf_counter() - t0
    os.unlink(script)
    cpu = cpu_seconds(pid) - cpu0
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    pcts = dict(re.findall(r"\s+(50|90|99)%\s+(\S+)", out))
    maximum = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out)
    print(f"load (wrk): {clients} clients x {seconds:g} s: {requests:,} requests, "
          f"{requests / took:,.0f} req/s, socket errors: {errors.group(1) if errors else 'none'}, "
          f"non-2xx/3xx: {non2xx.group(1) if non2xx else 0}")
    print(f"      latency: p50 {pcts.get('50')}  p90 {pcts.get('90')}  p99 {pcts.get('99')}  "
          f"max {maximum.group(1) if maximum else '?'}  (goal: 0 errors, p99 < 200ms)")
    print(f"      server CPU: {cpu:.1f} s in {took:.1f} s ({cpu / took * 100:.0f}% of one core), "
          f"{cpu / max(1, requests) * 1e6:.0f} us per request; load average now "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


async def sequential(port: int, n: int) -> list[float]:
    host = f"127.0.0.1:{port}".encode()
    conn = await open_conn(port)
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        await request(*conn, host, "/index.html", None)
        out.append(time.perf_counter() - t0)
    conn[1].close()
    return out


async def idle_phase(port: int, idle: int, pid: int) -> None:
    before = await sequential(port, 200)
    sockets = []
    for _ in range(idle):
        sockets.append(await open_conn(port))
    await asyncio.sleep(0.5)
    beside = await sequential(port, 200)
    alive = 0
    for reader, _ in sockets:
        alive += not reader.at_eof()
    print(f"idle: {idle} idle connections open ({alive} still open after the timed requests)")
    print(f"      one request at a time, ms: without them p50 {pct(before, 50):.2f} "
          f"p99 {pct(before, 99):.2f}; beside them p50 {pct(beside, 50):.2f} p99 {pct(beside, 99):.2f}")
    print(f"      server with them open: threads {proc_stats(pid)[0]}, descriptors {proc_stats(pid)[1]}")
    await asyncio.sleep(11)  # the head deadline (10 s) reclaims connections that never asked
    print(f"      11 s later, the clients still holding them: threads {proc_stats(pid)[0]}, "
          f"descriptors {proc_stats(pid)[1]}")
    for _, writer in sockets:
        writer.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--think", type=float, default=1.0,
                        help="seconds between a paced client's requests (the viewer polls at most "
                             "once a second); 0 skips the paced phase")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.idle + 1000)), hard))
    print(machine())
    csv_path = simulate(5)
    site = OUT / "serve_load_site"
    port = free_port()
    server = subprocess.Popen([str(FINOPS), "serve", "--csv", str(csv_path), "--out", str(site),
                               "--port", str(port), "--target-mb", "5"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = server.stdout.readline()
            if "serving" in line or not line:
                break
        threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()
        mix = traffic(site)
        print(f"server: pid {server.pid}, {len(mix)} paths in the mix; at rest: "
              f"threads {proc_stats(server.pid)[0]}, descriptors {proc_stats(server.pid)[1]}")
        use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
              "(other jobs share this machine)")
        with Sampler(server.pid) as s:
            if use_wrk:
                wrk_phase(port, args.clients, args.seconds, mix, server.pid)
            else:
                asyncio.run(load_phase(port, args.clients, args.seconds, mix, server.pid))
        print(f"      server during load: {s.summary()}")
        if args.think:
            with Sampler(server.pid) as s:
                asyncio.run(load_phase(port, args.clients, args.seconds, mix, server.pid,
                                       think=args.think))
            print(f"      server during paced load: {s.summary()}")
        with Sampler(server.pid) as s:
            asyncio.run(idle_phase(port, args.idle, server.pid))
        print(f"      server during idle phase: {s.summary()}")
    finally:
        server.terminate()
        server.wait(20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
