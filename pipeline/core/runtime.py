"""Everything a running CraftStage needs, built once from settings (no Slack or HTTP here)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from pipeline.core.member_changes import MemberChanges
from pipeline.core.notify import Notifier, NullNotifier
from pipeline.core.settings import Settings
from pipeline.core.workers import WorkerPool
from storage.db import Database
from storage.migrate import upgrade

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    notifier: Notifier = field(default_factory=NullNotifier)
    workers: WorkerPool = field(default_factory=WorkerPool)
    member_changes: MemberChanges = field(init=False)

    def __post_init__(self) -> None:
        self.member_changes = MemberChanges(self.db)

    def close(self) -> None:
        self.member_changes.stop()
        self.workers.shutdown(wait=True)
        self.db.dispose()


def build_runtime(settings: Settings, *, migrate: bool = True) -> Runtime:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.files_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.effective_database_url)
    if migrate:
        upgrade(db)
    return Runtime(settings=settings, db=db, workers=WorkerPool(settings.worker_threads))
