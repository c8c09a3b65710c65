"""The in-process worker and scheduler loop used by ``billow serve`` and ``billow worker``."""

from __future__ import annotations

import threading
import time

import structlog

from billow.runtime import Runtime

log = structlog.get_logger("billow.background")

SCHEDULER_CHECK_SECONDS = 30.0


class BackgroundLoop:
    """Claims and runs jobs; with the system clock, also ticks the scheduler every hour."""

    def __init__(self, runtime: Runtime, *, threads: int = 1, run_scheduler: bool = True) -> None:
        self.runtime = runtime
        self.threads = max(1, threads)
        self.run_scheduler = run_scheduler and runtime.manual_clock is None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._last_scheduler_check = 0.0

    def start(self) -> None:
        for i in range(self.threads):
            t = threading.Thread(target=self._loop, args=(i == 0,), name=f"billow-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout)

    def run_forever(self) -> None:
        self.start()
        try:
            while not self._stop.is_set():
                self._stop.wait(1.0)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def _maybe_tick(self) -> None:
        now = time.monotonic()
        if now - self._last_scheduler_check < SCHEDULER_CHECK_SECONDS:
            return
        self._last_scheduler_check = now
        self.runtime.scheduler.catch_up()

    def _loop(self, runs_scheduler: bool) -> None:
        rt = self.runtime
        poll = rt.settings.worker_poll_seconds
        while not self._stop.is_set():
            claimed = 0
            try:
                if runs_scheduler and self.run_scheduler:
                    self._maybe_tick()
                if rt.manual_clock is not None:
                    # The test clock drains synchronously; never race it.
                    with rt.clock_lock:
                        claimed = rt.worker.run_batch()
                else:
                    claimed = rt.worker.run_batch()
            except Exception as exc:
                log.exception("background_loop_error", error=str(exc))
            if claimed == 0:
                self._stop.wait(poll)
