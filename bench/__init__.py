"""Benchmarks: provisioning latency and calls (B1, B1-cold), the drift sweep at scale (B2) and as it grows (B7),
render (B3), the API under a mixed load (B4), memory (B5), the kubernetes target beside kubectl (B6) and
``analyze -f`` (B8).

``python -m bench`` (``make bench``) runs them against real components (PostgreSQL, Redis, moto's server, the
Kubernetes API double, Celery workers, gunicorn, kubectl), prints every figure with its target and writes
``bench/results.json``; ``--smoke`` runs the same code with tiny sizes so CI keeps the harness working;
``python -m bench.table`` writes the README's table from the results. ``bench.internals`` is the one module that
imports the portal's and provisioning's internals.
"""
