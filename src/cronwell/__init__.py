"""cronwell: a job scheduler and task runner for Python teams."""
