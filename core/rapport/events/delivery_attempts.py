"""One handler call of outbox delivery: the event rebuilt from its row, the handler run
under a shared time-out, and whatever it raised turned into an error text."""

from __future__ import annotations

import asyncio
import inspect
import traceback
from collections.abc import Callable
from typing import Any

from rapport.events.bus import event_from_row
from rapport.events.consumers import Consumer

ERROR_LIMIT = 4000


def short_error(exc: BaseException) -> str:
    text = "".join(traceback.format_exception(exc, limit=-8))
    return text[-ERROR_LIMIT:]


class Watchdog:
    """Cancels a handler that runs past the time-out: one timer for many events.

    ``asyncio.timeout`` per event would cost more than a trivial handler itself; this keeps
    one timer armed at the current handler's deadline and moves it only when it fires.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._task = asyncio.current_task()
        self._loop = asyncio.get_running_loop()
        self._deadline: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._fired = False
        self._baseline = self._task.cancelling() if self._task is not None else 0

    def arm(self) -> None:
        self._deadline = self._loop.time() + self.timeout
        if self._timer is None:
            self._timer = self._loop.call_at(self._deadline, self._check)

    def disarm(self) -> bool:
        """Stop watching; True if the watchdog had cancelled the handler (cancel withdrawn)."""
        self._deadline = None
        if not self._fired:
            return False
        self._fired = False
        if self._task is not None:
            self._task.uncancel()
        return True

    def cancelled_from_outside(self) -> bool:
        """Whether someone else (a worker stopping) cancelled the task too."""
        return self._task is not None and self._task.cancelling() > self._baseline

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check(self) -> None:
        self._timer = None
        if self._deadline is None:
            return  # between handlers: the next arm() sets a timer again
        if self._loop.time() >= self._deadline and self._task is not None:
            self._fired = True
            self._task.cancel()
            return
        self._timer = self._loop.call_at(self._deadline, self._check)


async def attempt(consumer: Consumer, row: dict[str, Any] | None, watchdog: Watchdog) -> str | None:
    """Hand one outbox row to ``consumer``; the error text if it failed, else None."""
    if row is None:
        return "the event is no longer in the outbox"
    try:
        event, meta = event_from_row(row)
    except Exception as exc:  # noqa: BLE001 - a payload that no longer fits: a failed attempt
        return short_error(exc)
    return await _guarded(lambda: consumer.handle(event, meta), watchdog)


async def attempt_batch(
    consumer: Consumer, rows: list[dict[str, Any]], watchdog: Watchdog
) -> str | None:
    """Hand ``rows`` to ``consumer.handle_batch`` at once; the error text if it failed (the
    events are then tried one by one)."""
    assert consumer.handle_batch is not None
    handle_batch = consumer.handle_batch
    try:
        items = [event_from_row(row) for row in rows]
    except Exception as exc:  # noqa: BLE001 - one payload that no longer fits: go one by one
        return short_error(exc)
    return await _guarded(lambda: handle_batch(items), watchdog)


async def _guarded(call: Callable[[], Any], watchdog: Watchdog) -> str | None:
    """Run a handler under the watchdog; the error text if it raised or timed out, else None."""
    timed_out = f"timed out after {watchdog.timeout:g}s"
    watchdog.arm()
    try:
        result = call()
        if inspect.isawaitable(result):
            await result
    except asyncio.CancelledError:
        if watchdog.disarm() and not watchdog.cancelled_from_outside():
            return timed_out
        raise
    except Exception as exc:  # noqa: BLE001 - whatever a handler raises is a failed attempt
        return timed_out if watchdog.disarm() else short_error(exc)
    return timed_out if watchdog.disarm() else None
