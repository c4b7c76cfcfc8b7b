"""B4: a mix of API requests served by gunicorn on PostgreSQL, driven at concurrency C by a load generator in a
separate process: list pages (100 a page, any of the first 50), the list filtered by team, exposure level or a
search term, details of any service, one request in ten a scorecard list (the production-readiness cards of all
services or one team's, filtered by level or failing rule, sorted, paginated, some with every rule's outcome; the
teams' levels; the rules' counts), and one request in ten a write (PATCH of the description with ``If-Match``, after
reading the service for its ETag).
Drawn at random with a fixed seed; each service is written at most once, so no write meets another's.

Scorecards are stored before the measured requests, as the beat keeps them; each write makes its service's card due,
and a Celery worker computes the cards due a second later, all at once (a list computes only cards due for longer).
The tables are vacuumed and analyzed after the bulk load and the pass that stores the documents (below), as
autovacuum would within a minute of them: without statistics the planner takes 5,000 rows for a few dozen.

Services seeded in bulk have no stored document yet (the portal stores one with every edit): one pass over the list
pages stores them before the measured requests. SQL queries per request are counted in this process afterwards
(gunicorn's workers are separate processes), with Django's test client on a few requests of each kind drawn the same
way.
"""

import json
import math
import random
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token

from portal.scorecards.cards import refresh_due
from portal.scorecards.models import StoredCard
from portal.scorecards.rules import LEVEL_ORDER, RULE_IDS

from .config import API_CONCURRENCY, ROOT
from .instrument import percentile

SERVICES = "/api/v1/services/"
PAGE_SIZE = 100
MAX_PAGE = 50
LEVELS = ("mesh", "internal", "external")
# kind -> share of the requests drawn
MIX = {"list": 0.25, "team": 0.1, "exposure": 0.1, "search": 0.1, "detail": 0.25, "scorecards": 0.1, "write": 0.1}
READS = ("list", "team", "exposure", "search", "detail", "scorecards")
SCORECARDS = "/api/v1/scorecards/"
SCORECARD_SORTS = ("level", "-failed", "passed", "team", "-tier", "service")
QUERY_SAMPLES = 3  # requests of each kind whose queries are counted in this process
SEED = 20261201


class Mix:
    """Requests drawn at random over the catalog: services (names), teams (slugs), how many list pages exist."""

    def __init__(self, names: list[str], teams: list[str], seed: int = SEED):
        self.rng = random.Random(seed)
        self.names, self.teams = names, teams
        self.pages = max(1, min(MAX_PAGE, math.ceil(len(names) / PAGE_SIZE)))
        self.unwritten = self.rng.sample(names, len(names))
        self.writes = 0

    def draw(self) -> dict:
        kind = self.rng.choices(list(MIX), weights=list(MIX.values()))[0]
        return self.item(kind)

    def item(self, kind: str) -> dict:
        rng, listing = self.rng, f"{SERVICES}?page_size={PAGE_SIZE}"
        if kind == "list":
            return {"kind": kind, "path": f"{listing}&page={rng.randint(1, self.pages)}"}
        if kind == "team":
            return {"kind": kind, "path": f"{listing}&team={rng.choice(self.teams)}"}
        if kind == "exposure":
            return {"kind": kind, "path": f"{listing}&exposure={rng.choice(LEVELS)}"}
        if kind == "search":
            return {"kind": kind, "path": f"{listing}&q={rng.choice(self.names)[:-1]}"}
        if kind == "detail":
            return {"kind": kind, "path": f"{SERVICES}{rng.choice(self.names)}/"}
        if kind == "scorecards":
            return {"kind": kind, "path": self.scorecards()}
        if not self.unwritten:
            raise RuntimeError("B4: more writes than services; every service is written at most once")
        name = self.unwritten.pop()
        self.writes += 1
        return {"kind": kind, "path": f"{SERVICES}{name}/", "patch": {"description": f"Edited {self.writes}"}}

    def scorecards(self) -> str:
        """One of the scorecard reads: a page of all cards, sorted, with or without every rule's outcome; filtered
        by team, level or failing rule; the teams' levels (all, one team); the rules' counts."""
        rng = self.rng
        sort = f"sort={rng.choice(SCORECARD_SORTS)}"
        return rng.choice(
            (
                f"{SCORECARDS}?page_size={PAGE_SIZE}&page={rng.randint(1, self.pages)}&{sort}",
                f"{SCORECARDS}?page_size={PAGE_SIZE}&page={rng.randint(1, self.pages)}&{sort}&expand=rules",
                f"{SCORECARDS}?page_size={PAGE_SIZE}&team={rng.choice(self.teams)}&{sort}",
                f"{SCORECARDS}?page_size={PAGE_SIZE}&level={rng.choice(LEVEL_ORDER)}&{sort}",
                f"{SCORECARDS}?page_size={PAGE_SIZE}&failing={rng.choice(RULE_IDS)}&{sort}",
                f"/api/v1/team-scorecards/?page_size={PAGE_SIZE}",
                f"/api/v1/team-scorecards/?team={rng.choice(self.teams)}",
                "/api/v1/scorecard-rules/",
            )
        )


def queries(item: dict, client: Client) -> int:
    """SQL queries of one request in this process (a write: of its PATCH, after a GET for the ETag)."""
    response = client.get(item["path"], secure=True)
    if response.status_code != 200:
        raise RuntimeError(f"B4: GET {item['path']} answered {response.status_code}: {response.content[:500]!r}")
    if "patch" not in item:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(item["path"], secure=True)
    else:
        with CaptureQueriesContext(connection) as captured:
            response = client.patch(
                item["path"],
                data=json.dumps(item["patch"]),
                content_type="application/json",
                secure=True,
                HTTP_IF_MATCH=response["ETag"],
            )
    if response.status_code != 200:
        raise RuntimeError(f"B4: {item['path']} answered {response.status_code}: {response.content[:500]!r}")
    return len(captured)


def load(url: str, token: str, plan: dict, work: Path) -> dict:
    path = work / "b4-requests.json"
    path.write_text(json.dumps(plan))
    argv = [sys.executable, "-m", "bench.loadgen", url, str(path), "--token", token]
    argv += ["--concurrency", str(API_CONCURRENCY)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True, timeout=1800)
    return json.loads(done.stdout)


def token_for(user) -> str:
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user).key


def latency(values: list[float]) -> dict:
    ms = [v * 1000 for v in values]
    return {
        "requests": len(ms),
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "max_ms": round(max(ms), 1) if ms else 0.0,
    }


def run(url: str, user, names: list[str], teams: list[str], requests: int, work: Path) -> dict:
    token = token_for(user)
    mix = Mix(names, teams)
    # Rows seeded in bulk lack the document the portal stores with every edit; one pass over the list pages
    # stores them, as the portal's own writes would have, before anything is measured.
    pages = [{"kind": "list", "path": f"{SERVICES}?page_size={PAGE_SIZE}&page={p}"} for p in range(1, mix.pages + 1)]
    stored = load(url, token, {"warmup": pages, "measured": []}, work)
    refresh_due()  # every card stored, as the beat keeps them
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # As autovacuum does within a minute of the bulk load and of that pass (a row per service rewritten):
            # statistics for the planner, and the visibility map that lets an index answer without the rows.
            cursor.execute("VACUUM ANALYZE")
    plan = {
        "warmup": [mix.draw() for _ in range(2 * API_CONCURRENCY)],
        "measured": [mix.draw() for _ in range(requests)],
    }
    result = load(url, token, plan, work)
    result["errors"] = stored["errors"] + result["errors"]
    result["error_count"] += stored["error_count"]
    client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="127.0.0.1")
    per_kind_queries = {kind: max(queries(mix.item(kind), client) for _ in range(QUERY_SAMPLES)) for kind in MIX}
    # A write's card is computed by the worker; a scorecard read that meets a card due for longer than the grace
    # (no worker took it) computes it itself: what that read costs.
    one_overdue = 0
    for _ in range(QUERY_SAMPLES):
        overdue = timezone.now() - timedelta(hours=1)
        StoredCard.objects.filter(name=mix.rng.choice(names)).update(valid_until=overdue)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"{SCORECARDS}?page_size={PAGE_SIZE}", secure=True)
        if response.status_code != 200:
            raise RuntimeError(f"B4: GET {SCORECARDS} answered {response.status_code}: {response.content[:500]!r}")
        one_overdue = max(one_overdue, len(captured))
    by_kind: dict[str, list[float]] = {}
    for kind, seconds in result["samples"]:
        by_kind.setdefault(kind, []).append(seconds)
    reads = latency([s for kind in READS for s in by_kind.get(kind, [])])
    writes = latency(by_kind.get("write", []))
    # The same run's other reads alone: beside read_p95_ms, what the scorecard reads cost them under the same load.
    others = latency([s for kind in READS if kind != "scorecards" for s in by_kind.get(kind, [])])
    kinds = {kind: {**latency(by_kind.get(kind, [])), "queries_per_request": per_kind_queries[kind]} for kind in MIX}
    return {
        "requests": len(result["samples"]),
        "read_p50_ms": reads["p50_ms"],
        "read_p95_ms": reads["p95_ms"],
        "write_p50_ms": writes["p50_ms"],
        "write_p95_ms": writes["p95_ms"],
        "queries_per_request": max(per_kind_queries.values()),
        "errors": result["error_count"],
        "error_examples": result["errors"],
        "throughput_rps": round(len(result["samples"]) / result["wall_s"], 1) if result["wall_s"] else 0.0,
        "kinds": kinds,
        "scorecards_p95_ms": kinds["scorecards"]["p95_ms"],
        "read_p95_without_scorecards_ms": others["p95_ms"],
        "scorecard_queries_one_overdue": one_overdue,
        "concurrency": API_CONCURRENCY,
        "pages": mix.pages,
        "note": f"{API_CONCURRENCY} clients in a separate process, {requests} requests drawn at random (list pages "
        f"1-{mix.pages} of {PAGE_SIZE}, filters by team, exposure level and search term, details, 10% scorecard "
        "reads, 10% PATCH with If-Match after a GET, which counts as a detail); queries per request: the most of "
        f"{QUERY_SAMPLES} requests of each kind, counted in-process; a scorecard read that computes a card no worker "
        "took: scorecard_queries_one_overdue",
    }
