"""Compute time of every receipt at the page's and the test suite's scale, side by side in one run.

    python bench/receipts_time.py [--threads 1]

Each receipt runs once per scale in a fresh order (page first), in one process; the sum of the page column is what
the Receipts page costs on a cold cache (it caches each card afterwards).
"""
from __future__ import annotations

import argparse
import pathlib
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from cert_core.receipts.registry import RECEIPTS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"{'receipt':18s} {'page s':>8s} {'test s':>8s} {'test/page':>9s}  verdict")
    total = {"page": 0.0, "test": 0.0}
    for entry in RECEIPTS:
        page, test = entry.run("page"), entry.run("test")
        total["page"] += page.seconds
        total["test"] += test.seconds
        verdict = "✓" if page.passed and test.passed else "✗"
        print(f"{entry.key:18s} {page.seconds:8.2f} {test.seconds:8.2f} {test.seconds / page.seconds:9.2f}  {verdict}")
    print(f"{'total':18s} {total['page']:8.2f} {total['test']:8.2f} {total['test'] / total['page']:9.2f}")


if __name__ == "__main__":
    main()
