"""regionsim's load test on the transfer path; run it with `python -m loadtests`.

Directly: `locust -f loadtests/locustfile.py --headless -t 30s -u 20 -r 5
--regionsim-plan reports/load/plan.json` from the project's root, against a
cluster the plan describes (see loadtests/README.md).
"""

from __future__ import annotations

from loadtests import listeners  # noqa: F401  (options, schedule, gates, audit)
from loadtests.shape import TransferPhases
from loadtests.users.driver import TransferDriver
from loadtests.users.reporter import ReportReader
from loadtests.users.tracker import TimeTracker

__all__ = ["ReportReader", "TimeTracker", "TransferDriver", "TransferPhases"]
