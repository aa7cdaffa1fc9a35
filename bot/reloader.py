"""Live reload: serve a knowledge edit within seconds when it is valid; keep the last good version when not."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Iterable

from bot.engine import Service
from bot.knowledge import OPTIONAL_FILES, REQUIRED_FILES

log = logging.getLogger(__name__)


def fingerprint(directory: Path, names: Iterable[str] = REQUIRED_FILES + OPTIONAL_FILES) -> tuple:
    """Return what changes when a knowledge file of the directory is edited, added or removed.

    Only the files the loader reads count: an editor's swap files, backups and staff notes never trigger a reload.
    """
    marks = []
    for name in names:
        try:
            stat = (directory / name).stat()
        except FileNotFoundError:
            marks.append((name, None))
        except OSError as exc:
            marks.append((name, "unreadable", str(exc)))
        else:
            marks.append((name, stat.st_mtime_ns, stat.st_size))
    return tuple(marks)


class Reloader:
    """Poll the knowledge directory and swap in a new engine when an edit loads cleanly."""

    def __init__(self, service: Service, socketio=None, *, interval: float = 1.0,
                 offload: Callable[[Callable[[], object]], object] | None = None):
        self.service = service
        # Rebuilding the index is CPU work; under gevent it runs in a real thread so chats keep flowing.
        self.offload = offload or (lambda work: work())
        self.socketio = socketio
        self.interval = interval
        self.seen = fingerprint(Path(service.settings.knowledge))
        self.running = False

    def check(self) -> bool:
        """Reload if the files changed since last time; return True when a new version went live."""
        now = fingerprint(Path(self.service.settings.knowledge))
        if now == self.seen:
            return False
        self.seen = now
        problems = self.offload(self.service.reload)
        if problems:
            what = ("held back: it breaks regression questions" if self.service.held_back
                    else "not loaded")
            log.error("knowledge edit %s; still serving version %s:\n%s", what,
                      self.service.engine.knowledge.version, "\n".join(map(str, problems)))
            return False
        knowledge = self.service.engine.knowledge
        log.info("knowledge version %s is live (%d entries)", knowledge.version, len(knowledge.entries))
        if self.socketio is not None:
            # Every process watches the folder itself, so each tells only its own clients (not via the queue).
            self.socketio.emit("knowledge", {"version": knowledge.version, "entries": len(knowledge.entries)},
                               ignore_queue=True)
        return True

    def run(self) -> None:
        """Check forever, every interval, on the server's own kind of background task."""
        self.running = True
        try:
            # What the version in force gives its regression questions, before any edit needs comparing with it.
            self.offload(self.service.baseline)
        except Exception:  # noqa: BLE001 - the watcher must outlive any surprise
            log.exception("could not work out the regression baseline")
        while self.running:
            self.socketio.sleep(self.interval)
            try:
                self.check()
            except Exception:  # noqa: BLE001 - the watcher must outlive any surprise
                log.exception("knowledge reload check failed")

    def start(self) -> None:
        """Start watching in the background."""
        self.socketio.start_background_task(self.run)

    def stop(self) -> None:
        self.running = False
