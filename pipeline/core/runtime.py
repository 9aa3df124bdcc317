"""Everything a running CraftStage needs, built once from settings (no Slack or HTTP here)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pipeline.core.member_changes import MemberChanges
from pipeline.core.notify import Notifier, NullNotifier
from pipeline.core.settings import Settings
from pipeline.core.workers import WorkerPool
from storage.db import Database
from storage.migrate import upgrade

log = logging.getLogger(__name__)


class Queue(Protocol):
    """Where tasks go when worker processes run them (pipeline.background.queue.TaskQueue)."""

    def defer(self, task_id: int) -> None: ...

    def holds(self, session: Any, task_id: int) -> bool: ...

    def status(self, session: Any) -> dict[str, Any]: ...

    def close(self) -> None: ...


@dataclass
class Runtime:
    settings: Settings
    db: Database
    notifier: Notifier = field(default_factory=NullNotifier)
    workers: WorkerPool = field(default_factory=WorkerPool)
    # with CRAFTSTAGE_BACKGROUND=workers: tasks go on this queue for `python app.py worker` processes
    queue: Queue | None = None
    # told when a parse started from a Slack window has finished (job id, the task's params, the batch
    # or None): the Slack side turns that window into the review step
    after_parse: Callable[[int, dict[str, Any], Any], None] | None = None
    member_changes: MemberChanges = field(init=False)

    def __post_init__(self) -> None:
        self.member_changes = MemberChanges(self.db)

    def close(self) -> None:
        self.member_changes.stop()
        self.workers.shutdown(wait=True)
        if self.queue is not None:
            self.queue.close()
        self.db.dispose()


def build_runtime(settings: Settings, *, migrate: bool = True) -> Runtime:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.files_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.effective_database_url)
    if migrate:
        upgrade(db)
    return Runtime(settings=settings, db=db, workers=WorkerPool(settings.worker_threads))
