"""CPU a page's first load costs the browser's renderer and the app server, for two checkouts back to back
(issue 17: first loads of Per-input σ, Paths and SRA; the σ step on Per-input σ).

Wall times on a shared 2-core machine follow the other users' load (bench/interaction_latency.py's page loads
ranged 6–90 s in one hour here), so this bench reports CPU seconds, which a busy machine inflates far less:
the renderer's main thread (Chrome's ``ThreadTime``) and whole process (``ProcessTime``) from CDP
``Performance.getMetrics`` (each load in a new browser context, so a new renderer), its ``ScriptDuration`` and
``LayoutDuration``, and the server's CPU from /proc. It starts one ``streamlit run app.py`` per checkout, loads every
page once per server to warm it (not counted), then alternates checkouts: A, B, A, B, … ``--runs`` times.

    python bench/page_load_cpu.py --trees /work/main,. [--runs 3] [--pages ddrs,paths,margin] [--sigma-step]
"""
from __future__ import annotations

import argparse
import os
import pathlib
import signal
import socket
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from browser_kit import ARGS, CHROMIUM, open_page  # noqa: E402
from interaction_latency import WATCH, sigma_step  # noqa: E402

METRICS = ("ThreadTime", "ProcessTime", "ScriptDuration", "LayoutDuration")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(tree: pathlib.Path, log: pathlib.Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true"],
                            cwd=tree, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, url
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{tree}: the server did not start")


def stop(servers: list[tuple[subprocess.Popen, str]]) -> None:
    """Terminate the servers ``start`` returned, and wait for each."""
    for proc, _ in servers:
        proc.terminate()
        proc.wait(timeout=30)


def server_cpu(pid: int) -> float:
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metrics(cdp) -> dict[str, float]:
    return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"] if m["name"] in METRICS}


def measure(browser, url: str, path: str, pid: int, step: bool) -> dict[str, float]:
    """A page's first load in a new context (new renderer); with ``step`` a σ step on it instead."""
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
    pg = ctx.new_page()
    cdp = ctx.new_cdp_session(pg)
    cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
    s0, t0 = server_cpu(pid), time.time()
    if step:
        open_page(pg, url, path)
        pg.evaluate(WATCH)
        m0, s0, t0 = metrics(cdp), server_cpu(pid), time.time()
        sigma_step(pg, 0.8)
    else:
        m0 = dict.fromkeys(METRICS, 0.0)
        open_page(pg, url, path)
    m1 = metrics(cdp)
    out = {k: m1[k] - m0[k] for k in METRICS} | {"server": server_cpu(pid) - s0, "wall": time.time() - t0}
    ctx.close()
    return out


def main(argv=None) -> None:
    from playwright.sync_api import sync_playwright
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trees", required=True, help="two checkouts, comma-separated (before,after)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pages", default="ddrs,paths,margin")
    ap.add_argument("--sigma-step", action="store_true", help="also the σ step on /ddrs")
    a = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))     # a timeout's TERM still stops both servers (finally)
    trees = [pathlib.Path(t).resolve() for t in a.trees.split(",")]
    jobs = [(p, False) for p in a.pages.split(",")] + ([("ddrs", True)] if a.sigma_step else [])
    print(f"load average at start: {open('/proc/loadavg').read().strip()}", flush=True)
    servers = [start(t, pathlib.Path(f"/tmp/page_load_cpu_{i}.log")) for i, t in enumerate(trees)]
    samples = {(i, job): [] for i in range(len(trees)) for job in jobs}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for (proc, url) in servers:                          # warm each server (not counted)
                for path, step in jobs:
                    measure(browser, url, path, proc.pid, step)
            for run in range(a.runs):
                for i, (proc, url) in enumerate(servers):
                    for job in jobs:
                        r = measure(browser, url, job[0], proc.pid, job[1])
                        samples[(i, job)].append(r)
                        print(f"  {trees[i].name} {job[0]}{' σ step' if job[1] else ''}: " +
                              ", ".join(f"{k} {v:.2f}" for k, v in r.items()), flush=True)
            browser.close()
    finally:
        stop(servers)
    print(f"load average at end: {open('/proc/loadavg').read().strip()}")
    print("| page | checkout | renderer main thread CPU (s) | renderer process CPU (s) | script (s) | layout (s) | "
          "server CPU (s) | wall (s) |\n|---|---|---|---|---|---|---|---|")
    for job in jobs:
        for i, tree in enumerate(trees):
            s = samples[(i, job)]
            med = {k: statistics.median(r[k] for r in s) for k in s[0]}
            print(f"| {job[0]}{' σ step' if job[1] else ' first load'} | {tree.name} | {med['ThreadTime']:.2f} | "
                  f"{med['ProcessTime']:.2f} | {med['ScriptDuration']:.2f} | {med['LayoutDuration']:.2f} | "
                  f"{med['server']:.2f} | {med['wall']:.1f} |")


if __name__ == "__main__":
    main()
