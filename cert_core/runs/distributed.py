"""torchrun across GPUs and machines: rank 0 owns the run store and hands out chunks; the other ranks send
their finished rows to it over the process group (gloo), so no rank but 0 opens the store and nothing needs a
shared file system (SQLite's write-ahead log does not work over a network file system).

Work stealing: the chunks are cut from the whole selection; rank 0 keeps a queue of them. Rank 0 certifies
from the queue in its main thread; a server thread on rank 0 answers the other ranks, each of which sends its
last chunk's rows and gets the next chunk back, so a fast rank simply asks more often. Which rank certifies
an example does not change its certificate: its noise depends on (seed, example) only (``cert_core.noise``).

Messages are pickled Python objects sent as uint8 tensors with ``dist.send``/``dist.recv`` (what the
``*_object_list`` calls do inside), with our own tags so that rank 0 can receive from *any* rank safely:
a length (tag 1, any source), then the payload from that same sender (tag 2); replies use tags 3 and 4.
Only processes of the same job, started by torchrun, are on the other end.
"""
from __future__ import annotations

import datetime
import os
import pickle
import threading
from typing import Callable, Iterable, Iterator

import numpy as np
import torch

from cert_core.runs.chunks import Shard

Rows = list[dict]
TO_ROOT, FROM_ROOT = 1, 3                     # tags of the length; the payload uses tag + 1


def init_group(shard: Shard) -> None:
    """Join torchrun's process group (gloo: works for CPU and GPU ranks alike)."""
    import torch.distributed as dist
    if dist.is_initialized():
        return
    if not os.environ.get("MASTER_ADDR") or not os.environ.get("MASTER_PORT"):
        raise ValueError(f"WORLD_SIZE={shard.world_size} is set but MASTER_ADDR/MASTER_PORT are not; "
                         "start the ranks with torchrun")
    # Our own store, keyed by torchrun's restart count: after a restart (--max-restarts) the agent's store still
    # holds the previous attempt's gloo keys, and init_process_group on it waits forever (torch 2.14, measured).
    agent = os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True"     # the launcher serves the store
    store = dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), shard.world_size,
                          is_master=not agent and shard.rank == 0, timeout=datetime.timedelta(minutes=30))
    attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
    dist.init_process_group("gloo", store=dist.PrefixStore(f"cert_core/attempt_{attempt}", store), rank=shard.rank,
                            world_size=shard.world_size, timeout=datetime.timedelta(days=7))  # slow chunks wait


def agree(shard: Shard, make):
    """``make()`` on rank 0, broadcast to every rank."""
    if shard.world_size == 1:
        return make()
    import torch.distributed as dist
    init_group(shard)
    box = [make() if shard.rank == 0 else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def send(obj, dst: int, tag: int) -> None:
    import torch.distributed as dist
    data = torch.frombuffer(bytearray(pickle.dumps(obj)), dtype=torch.uint8)
    dist.send(torch.tensor([data.numel()], dtype=torch.int64), dst, tag=tag)
    dist.send(data, dst, tag=tag + 1)


def recv(src: int | None, tag: int):
    """(sender, object); ``src=None`` receives from any rank."""
    import torch.distributed as dist
    size = torch.zeros(1, dtype=torch.int64)
    sender = dist.recv(size, src=src, tag=tag)
    data = torch.empty(int(size.item()), dtype=torch.uint8)
    dist.recv(data, src=sender, tag=tag + 1)
    return sender, pickle.loads(data.numpy().tobytes())


class Coordinator:
    """Rank 0's side: the chunk queue, shared by its own main thread and the server thread."""

    def __init__(self, chunks: Iterable[np.ndarray], world_size: int, on_rows: Callable[[Rows], None],
                 should_stop: Callable[[], bool] = lambda: False):
        self.chunks, self.world_size = [np.asarray(c) for c in chunks], world_size
        self.on_rows, self.should_stop = on_rows, should_stop
        self.lock, self.next, self.stopped = threading.Lock(), 0, False
        self.errors: list[str] = []

    def take(self) -> np.ndarray | None:
        with self.lock:
            if self.stopped or self.next >= len(self.chunks) or self.should_stop():
                return None
            self.next += 1
            return self.chunks[self.next - 1]

    def stop(self) -> None:
        with self.lock:
            self.stopped = True

    def record(self, rows: Rows) -> None:
        if rows:
            with self.lock:                                   # one writer at a time
                self.on_rows(rows)

    def serve(self) -> None:
        """Answer the other ranks until each has been told to stop (the server thread)."""
        active = self.world_size - 1
        while active:
            sender, msg = recv(None, TO_ROOT)
            self.record(msg.get("rows") or [])
            if msg.get("error"):
                self.errors.append(f"rank {sender}: {msg['error']}")
                self.stop()
                active -= 1
                continue
            chunk = None if self.errors else self.take()
            send(None if chunk is None else chunk.tolist(), sender, FROM_ROOT)
            active -= chunk is None


def certify_shared(shard: Shard, chunks: list[np.ndarray], certify: Callable[[np.ndarray], Iterator[Rows]],
                   on_rows: Callable[[Rows], None], should_stop: Callable[[], bool] = lambda: False) -> None:
    """Certify ``chunks`` over all ranks. Rank 0 passes the chunks (and ``on_rows``, called with every rank's
    rows, one call at a time); other ranks pass [] and only ``certify``. Raises ValueError on rank 0 if any
    rank failed."""
    import torch.distributed as dist
    init_group(shard)
    if shard.rank != 0:
        _follow(certify)
        dist.barrier()
        return
    coordinator = Coordinator(chunks, shard.world_size, on_rows, should_stop)
    server = threading.Thread(target=coordinator.serve, daemon=True)
    server.start()
    try:
        while (chunk := coordinator.take()) is not None:
            for rows in certify(chunk):
                coordinator.record(rows)
    except Exception:
        coordinator.stop()                                    # the others are told to stop at their next ask
        server.join()
        dist.barrier()
        raise
    server.join()
    dist.barrier()
    if coordinator.errors:
        raise ValueError("; ".join(coordinator.errors))


def _follow(certify) -> None:
    """A rank other than 0: ask for chunks, certify them, send the rows back with the next ask."""
    rows, error = [], ""
    while True:
        send({"rows": rows, "error": error}, 0, TO_ROOT)
        if error:
            return
        _, chunk = recv(0, FROM_ROOT)
        if chunk is None:
            return
        try:
            rows = [r for part in certify(np.asarray(chunk, dtype=np.int64)) for r in part]
        except (ValueError, OSError, RuntimeError) as exc:
            rows, error = [], f"{type(exc).__name__}: {exc}"
