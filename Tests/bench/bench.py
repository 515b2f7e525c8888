#!/usr/bin/env python3
"""Helpers for Tests/bench/run.sh (Python standard library only).

  bench.py free-port                              print a free loopback TCP port
  bench.py wait URL PID                           wait until URL/healthz answers 200 (PID must stay alive)
  bench.py tickets URL COUNT OUT                  open COUNT tickets on the demo widget, write "id token" lines
  bench.py report WORKDIR DATA CONCURRENCY...     print the results table; exit 1 if a budget is missed
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

# Spec budget: durable message POSTs/s at 256 clients >= 60 % of the no-op POST rate.
MIN_RATIO = float(os.environ.get("BENCH_MIN_RATIO", "0.60"))
BUDGET_CONCURRENCY = 256

TICKET_BODY = {"fields": {"name": "Bench", "email": "bench@example.com", "subject": "Bench", "message": "hello"}}


def die(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr)
    sys.exit(1)


def free_port() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def wait(base_url: str, pid: str) -> None:
    # Readiness wait: up to 200 polls, 50 ms apart.
    last = "no answer"
    for _ in range(200):
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            die("the server exited before it was ready")
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            last = str(error)
        time.sleep(0.05)
    die(f"/healthz never answered 200 ({last})")


def tickets(base_url: str, count: str, out: str) -> None:
    lines = []
    for n in range(int(count)):
        request = urllib.request.Request(
            base_url + "/api/widgets/demo/tickets",
            data=json.dumps(TICKET_BODY).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, body = response.status, json.load(response)
        except urllib.error.HTTPError as error:
            die(f"creating ticket {n + 1}: HTTP {error.code}: {error.read()[:300]!r}")
        if status != 201:
            die(f"creating ticket {n + 1}: expected 201, got {status}")
        lines.append(f"{body['ticket']['id']} {body['token']}\n")
    Path(out).write_text("".join(lines))


BENCH_LINE = re.compile(r"^BENCH (.*)$", re.MULTILINE)


def parse(path: Path) -> dict[str, float]:
    """The numbers from post.lua's done() line in a wrk output file."""
    text = path.read_text()
    match = BENCH_LINE.search(text)
    if not match:
        die(f"no BENCH line in {path}:\n{text}")
    run = {k: float(v) for k, v in (pair.split("=") for pair in match.group(1).split())}
    run["errors"] = sum(run[k] for k in ("status_errors", "connect_errors", "read_errors", "write_errors", "timeouts"))
    run["ok"] = run["requests"] - run["status_errors"]  # wrk counts status >= 400 as status errors
    run["rate"] = run["ok"] / (run["duration_us"] / 1e6)
    return run


def stored_messages(data: Path) -> tuple[int, int]:
    """(message events, unparsable lines) on disk, over every ticket log (tickets/YYYY-MM/<id>.jsonl)."""
    count = bad = 0
    for log in data.glob("tickets/*/*.jsonl"):
        with log.open("rb") as f:
            for line in f:
                try:
                    event = json.loads(line)
                except ValueError:
                    bad += 1
                    continue
                if event.get("type") == "message":
                    count += 1
    return count, bad


def ms(us: float) -> str:
    return f"{us / 1000:.2f} ms"


def report(workdir: str, data: str, *concurrencies: str) -> None:
    work = Path(workdir)
    failures = []
    acked = 0
    rows = []
    for c in concurrencies:
        durable, noop = parse(work / f"durable-{c}.out"), parse(work / f"noop-{c}.out")
        acked += int(durable["ok"])
        ratio = durable["rate"] / noop["rate"] if noop["rate"] else 0.0
        rows.append((c, durable, noop, ratio))
        for name, run in (("durable", durable), ("noop", noop)):
            if run["errors"]:
                failures.append(
                    f"{name} at {c} connections: {int(run['status_errors'])} non-2xx responses, "
                    f"{int(run['errors'] - run['status_errors'])} socket errors/timeouts"
                )
        if int(c) == BUDGET_CONCURRENCY and ratio < MIN_RATIO:
            failures.append(f"durable/noop at {c} connections is {ratio:.0%}, budget {MIN_RATIO:.0%}")
    warmup = work / "warmup.out"
    if warmup.exists():
        acked += int(parse(warmup)["ok"])

    header = f"{'conns':>5}  {'messages/s':>10}  {'p50':>9}  {'p99':>9}  {'non-2xx':>7}  {'noop/s':>9}  {'noop p99':>9}  {'non-2xx':>7}  {'durable/noop':>12}"
    print()
    print("Durable message POSTs vs no-op POSTs (2xx responses per second)")
    print(header)
    print("-" * len(header))
    for c, d, n, ratio in rows:
        print(
            f"{c:>5}  {d['rate']:>10.0f}  {ms(d['p50_us']):>9}  {ms(d['p99_us']):>9}  {int(d['status_errors']):>7}"
            f"  {n['rate']:>9.0f}  {ms(n['p99_us']):>9}  {int(n['status_errors']):>7}  {ratio:>12.0%}"
        )
    print()

    stored, bad = stored_messages(Path(data))
    print(f"acknowledged messages: {acked}, message events on disk: {stored}")
    if stored < acked:
        failures.append(f"only {stored} messages on disk for {acked} acknowledged: acknowledged messages were lost")
    if bad:
        failures.append(f"{bad} ticket log lines do not parse as JSON")

    if failures:
        for failure in failures:
            print(f"FAIL: {failure}")
        sys.exit(1)
    if str(BUDGET_CONCURRENCY) in concurrencies:
        print(f"OK: durable/noop at {BUDGET_CONCURRENCY} connections meets the {MIN_RATIO:.0%} budget, no errors")
    else:
        print(f"OK: no errors (budget not checked: it is defined at {BUDGET_CONCURRENCY} connections)")


def wrk_plain(path: Path) -> tuple[float, int]:
    """(requests/s, non-2xx and socket errors) from a plain wrk output file."""
    text = path.read_text()
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not rate:
        die(f"no Requests/sec in {path}:\n{text}")
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", text))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
    return float(rate.group(1)), errors


def loader(workdir: str, min_ratio: str) -> None:
    """Compares GET /widget.js from parley and from nginx (loader-parley.out, loader-nginx.out)."""
    work = Path(workdir)
    (ours, our_errors), (theirs, their_errors) = wrk_plain(work / "loader-parley.out"), wrk_plain(work / "loader-nginx.out")
    ratio = ours / theirs if theirs else 0.0
    print()
    print("GET /widget.js, gzip, keep-alive, 64 connections (requests per second)")
    print(f"  parley {ours:>9.0f}   nginx {theirs:>9.0f}   parley/nginx {ratio:.0%} (budget {float(min_ratio):.0%})")
    if our_errors or their_errors:
        die(f"errors while serving /widget.js: parley {our_errors}, nginx {their_errors}")
    if ratio < float(min_ratio):
        die(f"parley serves /widget.js at {ratio:.0%} of nginx's rate, budget {float(min_ratio):.0%}")


COMMANDS = {"free-port": free_port, "wait": wait, "tickets": tickets, "report": report, "loader": loader}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        die(__doc__)
    COMMANDS[sys.argv[1]](*sys.argv[2:])
