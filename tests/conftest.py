"""Hypothesis profiles for the suite.

``ci`` is loaded unless ``HYPOTHESIS_PROFILE`` names another: random runs (a failure found
once is kept in the example database and printed as a blob to reproduce it anywhere).
"""

import os

from hypothesis import settings

pytest_plugins = ["tests.databases"]

settings.register_profile("ci", derandomize=False, print_blob=True, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
