"""pyregistry's benchmarks: plain functions, each compared with a same-run baseline.

Run them all with ``python -m benchmarks`` (or ``tox -e bench``); name some to run only
those (``python -m benchmarks bench_startup``); ``--list`` shows them. Every function
takes a ``BenchContext`` and returns a ``Section`` of ``Figure`` values, each carrying the
baseline it was measured against in the same run, so the printed ratio is what to compare
between runs. Durations and sizes come from ``BENCH_*`` variables (``context.BenchConfig``).

To add a benchmark, write a documented function in a module named for what it measures
(``auth``: authenticated vs anonymous pages, ``proxy``: ``pip download`` through a caching
proxy vs its upstream, ``s3_pages``: pages from S3 vs local storage...) and append it to
``BENCHMARKS`` in ``__main__.py``.
"""
