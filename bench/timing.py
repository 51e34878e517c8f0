"""Timing and memory of one scenario: repetitions, percentiles, traced peak."""

from __future__ import annotations

import gc
import inspect
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Sample:
    """Durations in seconds of repeated calls, and the traced peak of a separate pass."""

    seconds: list[float] = field(default_factory=list)
    peak_bytes: int = 0

    def quantile(self, q: float) -> float:
        if not self.seconds:
            return float("nan")
        if len(self.seconds) == 1:
            return self.seconds[0]
        ordered = sorted(self.seconds)
        return statistics.quantiles(ordered, n=100, method="inclusive")[round(q * 100) - 1]

    @property
    def p50(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    @property
    def p95(self) -> float:
        return self.quantile(0.95)


async def _call(func: Callable[[int], Any], i: int) -> Any:
    result = func(i)
    if inspect.isawaitable(result):
        result = await result
    return result


async def measure(
    func: Callable[[int], Any], repeat: int, warmup: int = 3, memory_repeat: int = 5
) -> Sample:
    """Call ``func(i)`` ``warmup`` times, then ``repeat`` timed times; then, with tracemalloc
    on (it slows allocation several-fold, so never while timing), ``memory_repeat`` more
    calls for the peak of traced Python memory one call needs above what was held before."""
    sample = Sample()
    for i in range(warmup):
        await _call(func, i)
    gc.collect()
    for i in range(repeat):
        started = time.perf_counter()
        await _call(func, warmup + i)
        sample.seconds.append(time.perf_counter() - started)
    if memory_repeat:
        gc.collect()
        tracemalloc.start()
        try:
            for i in range(memory_repeat):
                tracemalloc.reset_peak()
                base, _ = tracemalloc.get_traced_memory()
                await _call(func, warmup + repeat + i)
                _, peak = tracemalloc.get_traced_memory()
                sample.peak_bytes = max(sample.peak_bytes, peak - base)
        finally:
            tracemalloc.stop()
    return sample
