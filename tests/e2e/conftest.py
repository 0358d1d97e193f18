"""What every end-to-end test's processes share."""

import os

# Each ``cronwell run`` a test starts serves the API too: on a free port, so tests running
# at once, and a cronwell already on the default port, never collide.
os.environ["CRONWELL_API_PORT"] = "0"
