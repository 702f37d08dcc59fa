"""What every benchmark shares: the app on a fresh PostgreSQL database, the floor, wrk.

Figures are read as ratios of ../shared/bench/floor measured in the same run,
because absolute numbers drift with the shared machine's load.
"""

import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[1]
FLOOR_DIR = Path(os.environ.get("FLOOR_DIR", ROOT.parent / "shared" / "bench" / "floor"))
FLOOR_VENV = Path(os.environ.get("FLOOR_VENV", "/tmp/floor-venv"))
FLOOR_RESULTS = Path(os.environ.get("FLOOR_RESULTS", "/tmp/floor-results"))
ADMIN_PG_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
VENV_BIN = Path(sys.executable).parent
# The floor's gunicorn shapes; the app is measured in the same one.
GUNICORN_SHAPES = {"gthread-2x4": ["-k", "gthread", "-w", "2", "--threads", "4"], "sync-4": ["-k", "sync", "-w", "4"]}
# Four processes by default: with two gthread workers on this two-core machine, wrk's 16 keep-alive connections
# split unevenly between them (say 12 and 4) and a CPU-bound app ran on one core, its rate swinging twofold from
# run to run; the floor's /sign rate is the same in both shapes. BENCH_SHAPE=gthread-2x4 runs the other.
DEFAULT_SHAPE = os.environ.get("BENCH_SHAPE", "sync-4")
WRK_DURATION = os.environ.get("BENCH_DURATION", "10s")
WRK_CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ the floor

def floor(parts: tuple[str, ...] = ("http",), shape: str = DEFAULT_SHAPE, reps: int = 1) -> dict:
    """Run ../shared/bench/floor now; returns {"ping"|"count"|"sign": {rps, p50_ms, p99_ms}, "celery_tasks_per_s"}."""
    if not (FLOOR_VENV / "bin" / "gunicorn").exists():
        subprocess.run(["bash", str(FLOOR_DIR / "setup.sh")], check=True, stdout=subprocess.DEVNULL)
    env = {**os.environ, "FLOOR_REPS": str(reps), "FLOOR_CONFIGS": shape, "FLOOR_WRK_DURATION": WRK_DURATION,
           "FLOOR_RESULTS": str(FLOOR_RESULTS)}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    figures: dict = {}
    for part in parts:
        before = set(FLOOR_RESULTS.glob("floor-*.json")) if FLOOR_RESULTS.exists() else set()
        subprocess.run(["bash", str(FLOOR_DIR / "run.sh"), part], check=True, env=env, stdout=subprocess.DEVNULL)
        result = json.loads(max(set(FLOOR_RESULTS.glob("floor-*.json")) - before).read_text())
        if part == "http":
            config = result["http"]["configs"][shape]
            for ep in ("ping", "count", "sign"):
                figures[ep] = {"rps": config[ep]["median"], "p99_ms": config[ep]["p99_ms_median"],
                               "p50_ms": statistics.median(r["p50_ms"] for r in config[ep]["runs"])}
        elif part == "celery":
            figures["celery_tasks_per_s"] = result["celery"]["tasks_per_s"]["median"]
    return figures


# ------------------------------------------------------------------ the app

def create_database() -> str:
    name = f"mobilize_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return ADMIN_PG_URL.rpartition("/")[0] + "/" + name


def drop_database(url: str) -> None:
    name = url.rpartition("/")[2]
    with psycopg.connect(ADMIN_PG_URL, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def app_env(database_url: str, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env.update(MOBILIZE_ENV="production", DATABASE_URL=database_url, REDIS_URL=REDIS_URL,
               SECRET_KEY="bench-secret-key-0123456789-0123456789-0123456789", PUBLIC_URL="http://127.0.0.1",
               MOBILIZE_INSTANCE_DIR="/tmp/mobilize-bench-instance", FLASK_APP="wsgi.py", **extra)
    return env


def flask(env: dict, *args: str, capture: bool = False) -> str:
    result = subprocess.run([str(VENV_BIN / "flask"), *args], cwd=ROOT, env=env, check=True,
                            capture_output=True, text=True)
    return result.stdout if capture else ""


@contextmanager
def app_database(**extra_env):
    """A fresh, migrated PostgreSQL database; yields the environment to run the app on it."""
    url = create_database()
    env = app_env(url, **extra_env)
    try:
        flask(env, "db", "upgrade")
        yield env
    finally:
        drop_database(url)


def free_port() -> int:
    """A loopback port no other benchmark running on this machine holds."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(base: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("gunicorn did not start")
        time.sleep(0.2)


@contextmanager
def mail_worker_database(**extra_env):
    """A fresh database, a Redis broker of its own and an SMTP sink: what the worker benchmarks run on.
    Yields (environment, sink)."""
    from tests.support import infra

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: a line per SMTP command
    broker, sink = infra.RedisServer().start(), infra.SmtpSink().start()
    try:
        with app_database() as env:
            yield {**env, "REDIS_URL": broker.url, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(sink.port),
                   "MAIL_DEFAULT_SENDER": "Bench <noreply@bench.test>", **extra_env}, sink
    finally:
        sink.stop()
        broker.stop()


def app_for(env: dict, **overrides):
    """The Flask app in this process, on the benchmark's database and Redis."""
    import config
    from mobilize import create_app

    return create_app(config.DevelopmentConfig, SQLALCHEMY_DATABASE_URI=config.database_url(env["DATABASE_URL"]),
                      REDIS_URL=env["REDIS_URL"], CELERY=config.celery_settings(env["REDIS_URL"]),
                      RATELIMIT_STORAGE_URI=env["REDIS_URL"], SECRET_KEY=env["SECRET_KEY"],
                      **{"PUBLIC_URL": env["PUBLIC_URL"], **overrides})


def worker_peak_mb(worker) -> float:
    """Peak resident memory of a Celery worker's main process and its pool processes, summed."""
    pid = worker.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return sum(peak_rss_mb(int(p)) for p in [pid, *children])


@contextmanager
def gunicorn(env: dict, shape: str = DEFAULT_SHAPE, port: int | None = None):
    """gunicorn serving the app in the floor's shape, on a free port by default; yields the base URL."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [str(VENV_BIN / "gunicorn"), *GUNICORN_SHAPES[shape], "-b", f"127.0.0.1:{port}", "--backlog", "2048",
           "--worker-tmp-dir", "/dev/shm", "--log-level", "warning", "--no-control-socket", "wsgi:app"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**env, "PUBLIC_URL": base}, start_new_session=True)
    try:
        wait_healthy(base, proc)
        yield base
    finally:
        proc.terminate()
        proc.wait(30)


# ------------------------------------------------------------------ load

def wrk(url: str, script: str = "bench/get.lua", args: tuple[str, ...] = (), duration: str = WRK_DURATION,
        connections: int = WRK_CONNECTIONS, threads: int = 2, warmup: str | None = "2s") -> dict:
    """Run wrk against a loopback URL; returns rps, latency percentiles and error counts."""
    assert url.startswith(("http://127.0.0.1", "http://localhost")), "benchmarks target loopback only"
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", "--timeout", "5s", "-s", script, url]
    if warmup:
        subprocess.run([*cmd[:1], f"-d{warmup}", *cmd[1:], "--", *args], cwd=ROOT, capture_output=True, check=True)
    out = subprocess.run([*cmd[:1], f"-d{duration}", *cmd[1:], "--", *args], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("BENCH_JSON "):
            result = json.loads(line[len("BENCH_JSON "):])
            result["errors"] = sum(result[k] for k in ("err_connect", "err_read", "err_write", "err_timeout"))
            return result
    raise RuntimeError("wrk printed no BENCH_JSON line:\n" + out[-2000:])


def percentiles(samples_ms: list[float]) -> dict:
    ordered = sorted(samples_ms)
    return {"p50_ms": round(statistics.median(ordered), 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2)}


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def table(rows: list[tuple]) -> str:
    """Rows of (figure, value, floor value or None) with the ratio; the first row is the header."""
    out = [("figure", "mobilize", "floor", "ratio")]
    for label, value, floor_value in rows:
        ratio = f"{value / floor_value:.2f}x" if floor_value else ""
        out.append((label, f"{value:,.1f}", f"{floor_value:,.1f}" if floor_value else "", ratio))
    widths = [max(len(str(r[i])) for r in out) for i in range(4)]
    lines = ["  ".join(str(c).ljust(widths[i]) if i == 0 else str(c).rjust(widths[i]) for i, c in enumerate(r))
             for r in out]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)
