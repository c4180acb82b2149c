"""CPU seconds of the Per-input σ and SRA page scripts (in-process, Streamlit's AppTest, no browser), for a checkout:
a cold run, σ steps 0.25 ↔ 0.26 once both are cached, new sessions on cached values (a first load after the
warm-up). CPU time (all threads of this process) is far less inflated than wall time on a busy shared machine, so two
checkouts measured one after the other compare (issue 17; bench/page_script_time.py gives wall times).

    python bench/page_script_cpu.py [--tree /work/main] [--repeat 3]
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    sys.path[:0] = [a.tree, os.path.join(a.tree, "tests")]
    os.chdir(a.tree)
    os.environ["CERT_EXPLORER_WARMUP"] = "0"
    logging.disable(logging.WARNING)
    from apptest_kit import page_test
    from ui import navigation
    pages = {p.key: p for p in navigation.PAGES}

    def run(at, label: str) -> None:
        cpu, wall = time.process_time(), time.perf_counter()
        at.run(timeout=900)
        print(f"{a.tree}: {label}: CPU {time.process_time() - cpu:.2f} s, wall {time.perf_counter() - wall:.2f} s",
              flush=True)
    at = page_test(pages["ddrs"])
    run(at, "ddrs cold")
    at.session_state["sigma"] = 0.26
    run(at, "ddrs σ step to a new σ₀ 0.26")
    for i in range(a.repeat):
        for sigma in (0.25, 0.26):
            at.session_state["sigma"] = sigma
            run(at, f"ddrs σ step to {sigma} (cached)")
    for i in range(a.repeat):
        run(page_test(pages["ddrs"]), "ddrs new session (cached)")
    run(page_test(pages["margin"]), "margin cold")
    for i in range(a.repeat):
        run(page_test(pages["margin"]), "margin new session (cached)")
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}; {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
