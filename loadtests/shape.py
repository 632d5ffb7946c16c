"""TransferPhases: full load from warm-up to the end, stopping at --run-time.

The phases themselves (warm-up, transfers, after cut-over) are times in the run's
`Schedule`; the shape keeps the user count steady across them, so what changes
between phases is the transfers, not the load.
"""

from __future__ import annotations

import time
from typing import Any

from locust import LoadTestShape


class TransferPhases(LoadTestShape):
    """Ramps to --users at --spawn-rate and stops after --run-time."""

    use_common_options = True

    def tick(self) -> tuple[int, float] | None:
        assert self.runner is not None
        options: Any = self.runner.environment.parsed_options
        if time.perf_counter() - self.start_time >= float(options.run_time):
            return None
        return int(options.num_users or 1), float(options.spawn_rate or 1)
