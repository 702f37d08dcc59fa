"""Petitions under load, beside ../shared/bench/floor measured in the same session.

- Signature submissions with concurrent clients on one petition: the sign form (CSRF, honeypot,
  fill-time token, rate limits, person upsert, signature insert, confirmation mail in the outbox)
  and the OSDI record-signature API; vs the floor's POST /sign (one INSERT and commit).
- The count with 1,000,000 confirmed signatures stored: the JSON count and the petition page;
  vs the floor's GET /count (one primary-key SELECT).
- The CSV export of those 1,000,000 rows: time, and the peak memory of the worker that streamed it.

    .venv/bin/python -m bench.petitions    (BENCH_PETITION_SIGNATURES=100000 BENCH_PETITION_REPS=1: quicker)

The floor and the app are measured in turns, REPS times, and medians reported: the machine is
shared and its load drifts by the minute.
"""

import os
import re
import statistics
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
import requests
from sqlalchemy import text

from bench import lib

SEED_ROWS = int(os.environ.get("BENCH_PETITION_SIGNATURES", "1000000"))
REPS = int(os.environ.get("BENCH_PETITION_REPS", "3"))
PASSWORD = "bench-password-123"
NO_LIMITS = {"PETITION_SIGN_RATE_LIMIT": "100000000/minute", "PETITION_SIGN_GLOBAL_RATE_LIMIT": "100000000/minute",
             "PETITION_MIN_FILL_SECONDS": "0"}


def create_petitions(user_id: int, organization_id: int) -> dict:
    from mobilize.petitions import services

    made = {}
    for name in ("surge", "million"):
        petition = services.create_petition(user_id, organization_id, title=f"Bench {name}", goal=100,
                                            summary="Flexible work for everyone who wants it.")
        services.add_target(user_id, petition.id, name="Jane Doe", title="CEO", organization="Acme Co")
        services.update_petition(user_id, petition.id, status="open")
        made[name] = {"id": petition.id, "slug": petition.slug, "uuid": str(petition.uuid)}
    return made


def seed_signatures(database_url: str, petition_id: int, rows: int) -> float:
    """Confirmed signatures from as many people, written in bulk by PostgreSQL itself; seconds taken."""
    started = time.monotonic()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("""
            INSERT INTO people (uuid, email, email_normalized, given_name, family_name, phone, postal_code,
                                locality, country, created_at, modified_at)
            SELECT gen_random_uuid(), 'seed' || g || '@example.org', 'seed' || g || '@example.org', 'Seed',
                   'Signer ' || g, '', '10001', 'New York, NY', 'US', now(), now()
            FROM generate_series(1, %(rows)s) AS g""", {"rows": rows})
        conn.execute("""
            INSERT INTO signatures (uuid, petition_id, person_id, given_name, family_name, postal_code, locality,
                                    country, comment, public, source, ip_address, confirmation_sent_at,
                                    confirmations_sent, confirmed_at, confirmed_via, created_at, modified_at)
            SELECT gen_random_uuid(), %(petition)s, p.id, p.given_name, p.family_name, p.postal_code, p.locality,
                   'US', CASE WHEN p.id %% 10 = 0 THEN 'Flexible hours kept me in work.' ELSE '' END,
                   p.id %% 3 = 0, 'web', '198.51.100.' || (p.id %% 250), now(), 1, now(), 'email', now(), now()
            FROM people p WHERE p.email LIKE 'seed%%'""", {"petition": petition_id})
        conn.execute("ANALYZE people")
        conn.execute("ANALYZE signatures")
    return time.monotonic() - started


def form_tokens(base: str, slug: str) -> tuple[str, str, str]:
    """A session cookie, its CSRF token and a fill-time token, from the petition page, for every request."""
    page = requests.get(f"{base}/petitions/{slug}", timeout=10)
    page.raise_for_status()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    started = re.search(r'name="started" type="hidden" value="([^"]+)"', page.text).group(1)
    return f"session={page.cookies['session']}", token, started


def login_cookie(base: str, email: str) -> str:
    """Log in through the form; cookies are handled by hand, as production marks them Secure."""
    page = requests.get(f"{base}/login", timeout=10)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    response = requests.post(f"{base}/login", data={"csrf_token": token, "email": email, "password": PASSWORD},
                             headers={"Cookie": f"session={page.cookies['session']}"}, allow_redirects=False,
                             timeout=10)
    assert response.status_code == 302, response.text[:500]
    return f"session={response.cookies['session']}"


@contextmanager
def one_worker(env: dict, port: int):
    """gunicorn with one gthread worker, so the memory read is that of the worker serving the export."""
    base = f"http://127.0.0.1:{port}"
    cmd = [str(lib.VENV_BIN / "gunicorn"), "-k", "gthread", "-w", "1", "--threads", "2", "-b", f"127.0.0.1:{port}",
           "--log-level", "warning", "wsgi:app"]
    master = subprocess.Popen(cmd, cwd=lib.ROOT, env={**env, "PUBLIC_URL": base}, start_new_session=True)
    try:
        lib.wait_healthy(base, master)
        [worker] = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
        yield base, int(worker)
    finally:
        master.terminate()
        master.wait(30)


def measure_export(env: dict, url_path: str, email: str) -> dict:
    with one_worker(env, lib.free_port()) as (base, worker):
        cookie = login_cookie(base, email)
        requests.get(f"{base}/petitions", timeout=10)  # a page served first: the baseline is a warm worker
        baseline = lib.peak_rss_mb(worker)
        started, size, lines = time.monotonic(), 0, 0
        with requests.get(base + url_path, headers={"Cookie": cookie}, stream=True, timeout=300) as response:
            response.raise_for_status()
            for chunk in response.iter_content(1 << 20):
                size += len(chunk)
                lines += chunk.count(b"\n")
        seconds = time.monotonic() - started
        return {"seconds": seconds, "mb": size / 1e6, "rows": lines - 1, "baseline_mb": baseline,
                "peak_mb": lib.peak_rss_mb(worker)}


def app_runs(base: str, surge: dict, million: dict, api_token: str) -> dict:
    """One wrk run of each figure against the app."""
    cookie, token, started_token = form_tokens(base, surge["slug"])
    return {
        "sign form": lib.wrk(base + "/", script="bench/petitions.lua",
                             args=("form", f"/petitions/{surge['slug']}/sign", cookie, token, started_token)),
        "record-signature API": lib.wrk(base + "/", script="bench/petitions.lua",
                                        args=("api", f"/api/v1/petitions/{surge['uuid']}/signatures", api_token)),
        "count JSON": lib.wrk(f"{base}/petitions/{million['slug']}/count"),
        "petition page": lib.wrk(f"{base}/petitions/{million['slug']}"),
    }


# Each app figure, the floor endpoint it is read against, and what is compared.
FIGURES = {"sign form": "sign", "record-signature API": "sign", "count JSON": "count", "petition page": "count"}


def main() -> None:
    with lib.app_database(**NO_LIMITS) as env:
        from mobilize.accounts import services as accounts
        from mobilize.extensions import db
        from mobilize.petitions import counting

        app = lib.app_for(env)
        email = "bench-petitions@example.org"
        with app.app_context():
            user = accounts.sign_up(email, "Bench", PASSWORD, "Bench Petitions")
            org = accounts.organizations_for(user.id)[0]
            petitions = create_petitions(user.id, org.id)
            org_slug = org.slug
            _, api_token = accounts.create_api_token(user.id, "bench")
            db.session.remove()
        lib.log(f"seeding {SEED_ROWS:,} signatures")
        seed_seconds = seed_signatures(env["DATABASE_URL"], petitions["million"]["id"], SEED_ROWS)
        with app.app_context():
            started = time.monotonic()
            counting.reconcile_counts()
            reconcile_seconds = time.monotonic() - started
            db.session.remove()

        surge, million = petitions["surge"], petitions["million"]
        floors, runs = [], []
        with lib.gunicorn(env, port=lib.free_port()) as base:
            for rep in range(REPS):  # interleaved, so the shared machine's drift hits both alike
                lib.log(f"repetition {rep + 1}/{REPS}: the floor, then the app")
                floors.append(lib.floor())
                runs.append(app_runs(base, surge, million, api_token))
            shown = requests.get(f"{base}/petitions/{million['slug']}/count", timeout=10).json()["signatures"]
        lib.log("exporting")
        export = measure_export(env, f"/orgs/{org_slug}/petitions/{million['uuid']}/signatures.csv", email)

        with app.app_context():
            stored = db.session.execute(text(
                "SELECT count(*), count(DISTINCT person_id) FROM signatures WHERE petition_id = :p"),
                {"p": surge["id"]}).one()
            outbox = db.session.execute(text("SELECT count(*) FROM outbound_mail")).scalar()
            db.session.remove()
            db.engine.dispose()

    def median(values):
        return statistics.median(values)

    print(f"{stored[0]:,} signatures taken on one petition during the runs (warm-ups included), "
          f"{outbox:,} confirmation mails queued")
    print(f"seeded {SEED_ROWS:,} confirmed signatures in {seed_seconds:.0f} s; "
          f"a reconciliation (COUNT(*) of them) took {reconcile_seconds:.2f} s")
    print(f"{lib.WRK_CONNECTIONS} connections, {lib.WRK_DURATION} each, gunicorn {lib.DEFAULT_SHAPE}; "
          f"medians of {REPS} repetitions, each the floor then the app")
    rows = []
    for name, endpoint in FIGURES.items():
        label = f"{name}{f', {SEED_ROWS:,} signed' if endpoint == 'count' else ''}"
        rows += [
            (f"{label}: req/s (vs /{endpoint})", median(r[name]["rps"] for r in runs),
             median(f[endpoint]["rps"] for f in floors)),
            (f"{name}: p50 ms", median(r[name]["p50_ms"] for r in runs), median(f[endpoint]["p50_ms"] for f in floors)),
            (f"{name}: p99 ms", median(r[name]["p99_ms"] for r in runs), median(f[endpoint]["p99_ms"] for f in floors)),
        ]
    print(lib.table(rows))
    for name, endpoint in FIGURES.items():
        paired = [r[name]["rps"] / f[endpoint]["rps"] for r, f in zip(runs, floors, strict=True)]
        print(f"{name} / floor /{endpoint}, each repetition: " + ", ".join(f"{x:.2f}x" for x in paired))
    print(f"CSV export of {export['rows']:,} rows ({export['mb']:.0f} MB): {export['seconds']:.1f} s, "
          f"{export['rows'] / export['seconds']:,.0f} rows/s; worker peak memory {export['peak_mb']:.0f} MiB "
          f"({export['baseline_mb']:.0f} MiB before the export, +{export['peak_mb'] - export['baseline_mb']:.0f} MiB)")
    for run in runs:
        for name, result in run.items():
            assert result["non2xx"] == 0 and result["errors"] == 0, f"{name}: {result}"
    assert shown == SEED_ROWS, f"count shows {shown:,}, {SEED_ROWS:,} stored"
    assert export["rows"] == SEED_ROWS, f"export has {export['rows']:,} rows"
    measured = sum(r[name]["requests"] for r in runs for name in ("sign form", "record-signature API"))
    assert stored[0] == stored[1] >= measured, f"{stored} signatures for {measured} requests"


if __name__ == "__main__":
    main()
