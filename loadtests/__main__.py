"""`python -m loadtests`: the transfer-path load test on an embedded cluster."""

from __future__ import annotations

import sys

from loadtests.runner import main

sys.exit(main())
