"""Benchmarks: provisioning latency (B1), drift sweep at scale (B2), render (B3), the API (B4), memory (B5).

``python -m bench`` (``make bench``) runs them against real components (PostgreSQL, Redis, moto's server, the
Kubernetes API double, Celery workers, gunicorn), prints a table and writes ``bench/results.json``;
``--smoke`` runs the same code with tiny sizes so CI keeps the harness working.
"""
