"""Benchmarks of a bake, run as modules from the repository's root (so that `tests.support` is importable):
`python -m benchmarks.devloop` (make bench) and `python -m benchmarks.speed` (make speed)."""
