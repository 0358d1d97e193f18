"""The loops: the scheduler that turns due jobs into runs, the worker that runs them."""
