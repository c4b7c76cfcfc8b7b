"""The machine a run measured: CPU, cores, memory, Python, OS, PostgreSQL and Redis versions, git commit."""

import os
import platform
import subprocess
from pathlib import Path

import redis

from .config import ROOT, redis_url
from .processes import admin_connection


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return 0.0


def _os() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                name = line.split("=", 1)[1].strip('"')
                return f"{name} (Linux {platform.release()})"
    except OSError:
        pass
    return platform.platform()


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def describe() -> dict:
    with admin_connection() as conn:
        postgres = conn.execute("SHOW server_version").fetchone()[0]
    redis_version = redis.Redis.from_url(redis_url()).info("server").get("redis_version", "")
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "python": platform.python_version(),
        "os": _os(),
        "postgresql": postgres,
        "redis": redis_version,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }
