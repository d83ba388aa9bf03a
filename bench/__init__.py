"""Benchmarks of fastapi-better-auth-kit: ``python -m bench [--quick]`` or ``nox -s bench``.

Every number is a ratio measured in the same run: each variant and its reference run side by
side, interleaved, several rounds, and the tables quote medians. See docs/performance.md.
"""
