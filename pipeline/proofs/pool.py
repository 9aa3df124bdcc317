"""Many proofs at once: items rendered on a process pool (fonts loaded once per worker), small batches
inline, progress reported as items finish; a worker that dies fails its items, not the batch.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import pickle
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from pipeline.proofs.inputs import DEFAULT_DPI
from pipeline.proofs.item import render_item_proof, worker_registry
from pipeline.rendering.layout import layout_item
from pipeline.rendering.model import ItemLayout
from pipeline.templates.font_faces import load_font
from pipeline.templates.font_files import LAST_RESORT_FAMILY
from pipeline.templates.fonts import FontRegistry, default_registry
from pipeline.templates.template import Template


# -- many items -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProofTask:
    """One item to proof. ``layout`` may be given (else it is computed with the worker's registry)."""

    item_id: Any
    template: Template
    values: Mapping[str, Any]
    pdf_path: str
    png_path: str
    input_hash: str = ""
    dpi: int = DEFAULT_DPI
    show_boxes: bool = False
    layout: ItemLayout | None = None
    groups: Mapping[str, float] | None = None  # the job's copyfit group sizes, by group name


@dataclass(frozen=True)
class ProofResult:
    item_id: Any
    ok: bool
    pdf_path: str
    png_path: str
    input_hash: str
    layout: dict[str, Any] | None = None  # in its stored form, made here in the worker (off the app)
    error: str | None = None
    seconds: float = 0.0


_WORKER_REGISTRY: FontRegistry | None = None


def _init_worker(registry: FontRegistry | None, app_pid: int | None = None) -> None:
    global _WORKER_REGISTRY
    _WORKER_REGISTRY = registry
    if app_pid is not None:
        threading.Thread(target=_exit_with, args=(app_pid,), name="watch-app", daemon=True).start()
    # Load the bundled fallback faces now, so the first item does not pay for them.
    reg = registry or default_registry()
    for weight in ("normal", "bold"):
        load_font(reg.resolve(LAST_RESORT_FAMILY, weight).font)


def _exit_with(app_pid: int) -> None:
    """End this worker when the app that started it is gone. A worker waiting for work never notices
    on its own (it holds its queue's write end too), and it keeps the forkserver alive, so an app
    killed outright (SIGKILL, out of memory) would otherwise leave both behind for good."""
    while True:
        time.sleep(1.0)
        try:
            os.kill(app_pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass  # alive (another user's process cannot have taken the pid within a second)


def _render_task(task: ProofTask, registry: FontRegistry | None = None) -> ProofResult:
    started = time.perf_counter()
    reg = registry or _WORKER_REGISTRY or default_registry()
    try:
        values = {k: ("" if v is None else str(v)) for k, v in task.values.items()}
        layout = task.layout or layout_item(task.template, values, registry=reg, groups=task.groups)
        render_item_proof(
            task.template, layout, values, task.pdf_path, task.png_path, task.dpi, task.show_boxes
        )
        return ProofResult(task.item_id, True, task.pdf_path, task.png_path, task.input_hash,
                           layout.to_dict(), None, time.perf_counter() - started)  # fmt: skip
    except Exception as exc:  # one bad item must not sink the job; the error is reported per item
        return dataclasses.replace(
            _failed(task, f"{type(exc).__name__}: {exc}"), seconds=time.perf_counter() - started
        )


def _failed(task: ProofTask, error: str) -> ProofResult:
    return ProofResult(task.item_id, False, task.pdf_path, task.png_path, task.input_hash, None, error)


def _render_chunk(tasks: list[ProofTask], registry_state: bytes | None = None) -> list[ProofResult]:
    registry = worker_registry(registry_state)
    return [_render_task(t, registry) for t in tasks]


@dataclass
class ProofPool:
    """A reusable pool of proof workers (each loads fonts once). Use as a context manager, or let
    ``generate_proofs`` make a temporary one. Workers start with forkserver, which is safe in a
    threaded app and, with this module preloaded, starts quickly."""

    workers: int = 2
    registry: FontRegistry | None = None
    _executor: ProcessPoolExecutor | None = field(default=None, init=False, repr=False)

    def __enter__(self) -> ProofPool:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> ProcessPoolExecutor:
        if self._executor is None:
            methods = multiprocessing.get_all_start_methods()
            ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
            if ctx.get_start_method() == "forkserver":
                ctx.set_forkserver_preload(["pipeline.proofs.pool"])
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=ctx,
                initializer=_init_worker,
                initargs=(self.registry, os.getpid()),
            )
        return self._executor

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run one picklable function call on a worker and wait for its result."""
        return self.start().submit(fn, *args).result()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def generate(
        self,
        tasks: Sequence[ProofTask],
        progress: Callable[[int, int], None] | None = None,
        *,
        chunk_size: int | None = None,
        registry: FontRegistry | None = None,
    ) -> list[ProofResult]:
        """Render all tasks; results in task order; ``progress(done, total)`` after each finished chunk.
        ``registry``: the workspace's fonts for laying out tasks that come without a layout."""
        total = len(tasks)
        if total == 0:
            return []
        state = pickle.dumps(registry) if registry is not None else None
        size = chunk_size or max(1, min(8, total // (self.workers * 6)))  # "12 of 50" stays fine-grained
        chunks = [list(range(i, min(total, i + size))) for i in range(0, total, size)]
        executor = self.start()
        pending: dict[Future, list[int]] = {
            executor.submit(_render_chunk, [tasks[i] for i in idx], state): idx for idx in chunks
        }
        results: list[ProofResult | None] = [None] * total
        done = 0
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                idx = pending.pop(fut)
                try:
                    chunk = fut.result()
                except Exception as exc:  # a worker died (e.g. BrokenProcessPool): report, don't hang
                    chunk = [_failed(tasks[i], f"worker failed: {type(exc).__name__}: {exc}") for i in idx]
                    if isinstance(exc, BrokenProcessPool) and self._executor is executor:
                        executor.shutdown(wait=False, cancel_futures=True)
                        self._executor = None  # the next call starts a fresh pool
                for i, res in zip(idx, chunk, strict=True):
                    results[i] = res
                done += len(idx)
                if progress is not None:
                    progress(done, total)
        return results  # type: ignore[return-value]


INLINE_LIMIT = 2  # this many tasks or fewer render in the calling process: no pool to start


def generate_proofs(
    tasks: Sequence[ProofTask],
    progress: Callable[[int, int], None] | None = None,
    workers: int = 2,
    *,
    registry: FontRegistry | None = None,
    pool: ProofPool | None = None,
    chunk_size: int | None = None,
) -> list[ProofResult]:
    """Render proofs for many items on ``workers`` processes; results are in task order.

    ``progress(done, total)`` is called in the calling thread as items finish. A failed item gives
    a result with ``ok=False`` and the error; the others still render. With ``pool`` the workers of
    a long-lived ProofPool are reused; a few tasks (<= INLINE_LIMIT) or ``workers <= 1`` run inline.
    """
    total = len(tasks)
    if pool is None and (total <= INLINE_LIMIT or workers <= 1):
        results = []
        for i, task in enumerate(tasks):
            results.append(_render_task(task, registry))
            if progress is not None:
                progress(i + 1, total)
        return results
    if pool is not None:
        return pool.generate(tasks, progress, chunk_size=chunk_size, registry=registry)
    with ProofPool(workers=workers, registry=registry) as temporary:
        return temporary.generate(tasks, progress, chunk_size=chunk_size)
