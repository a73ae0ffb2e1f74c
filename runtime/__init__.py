"""Process plumbing shared by the worker, the starter, the CLI, simulators, tests and benchmarks."""
