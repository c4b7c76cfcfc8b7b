"""B7: how the drift sweep grows with the number of services. At each size the sweep's wall time and reads per
service (they should stay flat) and the database rows it leaves behind: every table counted before and after."""

from django.db import connection


def table_rows() -> dict[str, int]:
    """Rows of every table of the database, by table (one query)."""
    tables = sorted(connection.introspection.table_names())
    quote = connection.ops.quote_name
    # Table names come from the database's own catalog, quoted; the names reported go in as parameters.
    sql = " UNION ALL ".join(f"SELECT %s, count(*) FROM {quote(t)}" for t in tables)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, tables)
        return dict(cursor.fetchall())


def rows_written(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """New rows per table (rows deleted count against them), tables that did not change left out."""
    delta = {t: after.get(t, 0) - before.get(t, 0) for t in sorted(set(before) | set(after))}
    return {t: n for t, n in delta.items() if n}


def step(sweep: dict, before: dict[str, int], after: dict[str, int]) -> dict:
    """One size's figures: the sweep's own plus the rows it wrote."""
    services = sweep["services"]
    written = rows_written(before, after)
    rows = sum(written.values())
    return {
        "services": services,
        "wall_s": sweep["wall_s"],
        "wall_per_service_ms": round(sweep["wall_s"] / services * 1000, 2) if services else 0.0,
        "reads_per_service": sweep["reads_per_service"],
        "checks_missed": sweep["checks_missed"],
        "rows_written": rows,
        "rows_per_service": round(rows / services, 2) if services else 0.0,
        "rows_by_table": written,
    }


def summary(steps: list[dict]) -> dict:
    """The growth figures: the largest size against the smallest, per service; the worst rows per service."""
    small, large = steps[0], steps[-1]

    def growth(key: str) -> float:
        return round(large[key] / small[key], 2) if small[key] else 0.0

    return {
        "sizes": [s["services"] for s in steps],
        "steps": steps,
        "reads_per_service_growth": growth("reads_per_service"),
        "wall_per_service_growth": growth("wall_per_service_ms"),
        "rows_per_service_per_sweep": max(s["rows_per_service"] for s in steps),
        "checks_missed": sum(s["checks_missed"] for s in steps),
        "note": f"the drift sweep at {', '.join(str(s['services']) for s in steps)} services (each size adds "
        "applied services to the last); growth = per-service figure at the largest size / at the smallest; rows = "
        "rows of every table after the sweep minus before (runs, their steps, log lines, plans...)",
    }
