"""Time moves on by itself: a daemon thread that applies the price source to the exchange about every second.

Each tick is one exchange transaction (`Exchange.tick`), under the exchange's lock, so resting orders,
stops and liquidations react between calls. Off unless started (tests keep their clocks in hand).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("binance_margin_mcp.simulator")


class Ticker:
    """Calls `tick` every `interval` seconds until `stop()`; a failing tick is logged once, then retried."""

    def __init__(self, tick: Callable[[], None], interval: float = 1.0) -> None:
        self._tick = tick
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Ticker:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="paper-ticker", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._tick()
                self._failing = False
            except Exception as exc:  # the exchange is closed or its file is damaged: say so once, keep trying
                if not self._failing:
                    log.warning("paper exchange: the price ticker failed (%s); retrying", type(exc).__name__)
                self._failing = True
