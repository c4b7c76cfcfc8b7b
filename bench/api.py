"""B4: the service list (100 a page) and a service's detail, served by gunicorn on PostgreSQL, driven at
concurrency C by a load generator in a separate process; SQL queries per request counted in this process."""

import json
import subprocess
import sys

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from .config import API_CONCURRENCY, ROOT
from .instrument import percentile

LIST = "/api/v1/services/?page_size=100"


def detail_path(name: str) -> str:
    return f"/api/v1/services/{name}/"


def queries_per_request(path: str, token: str) -> int:
    client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="127.0.0.1")
    client.get(path, secure=True)  # warm: the first request of a process loads more (content types, ...)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, secure=True)
    if response.status_code != 200:
        raise RuntimeError(f"B4: GET {path} answered {response.status_code}: {response.content[:500]!r}")
    return len(queries)


def load(url: str, path: str, token: str, requests: int) -> dict:
    argv = [
        sys.executable,
        "-m",
        "bench.loadgen",
        url,
        path,
        "--token",
        token,
        "--concurrency",
        str(API_CONCURRENCY),
        "--requests",
        str(requests),
        "--warmup",
        str(2 * API_CONCURRENCY),
    ]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True, timeout=1800)
    result = json.loads(done.stdout)
    if result["error_count"]:
        raise RuntimeError(f"B4: {result['error_count']} requests to {path} failed: {result['errors']}")
    ms = [x * 1000 for x in result["latencies"]]
    return {
        "requests": len(ms),
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "max_ms": round(max(ms), 1) if ms else 0.0,
        "throughput_rps": round(len(ms) / result["wall_s"], 1) if result["wall_s"] else 0.0,
    }


def token_for(user) -> str:
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user).key


def run(url: str, user, detail_name: str, requests: int) -> dict:
    token = token_for(user)
    endpoints = {"list": LIST, "detail": detail_path(detail_name)}
    results = {}
    for label, path in endpoints.items():
        queries = queries_per_request(path, token)
        results[label] = {"path": path, "queries_per_request": queries, **load(url, path, token, requests)}
    return {
        "endpoints": results,
        "p95_ms": max(r["p95_ms"] for r in results.values()),
        "queries_per_request": max(r["queries_per_request"] for r in results.values()),
        "concurrency": API_CONCURRENCY,
    }
