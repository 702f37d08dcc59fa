"""Home page and an authenticated API call under wrk, beside the floor's /ping and /count.

    .venv/bin/python -m bench.foundation
"""

from bench import lib


def main() -> None:
    floor = lib.floor()
    with lib.app_database() as env:
        lib.flask(env, "organizers", "create", "bench@example.org", "--org", "Bench Org", "--password",
                  "bench-password-123")
        token = lib.flask(env, "organizers", "token", "bench@example.org", capture=True).strip()
        with lib.gunicorn(env) as base:
            home = lib.wrk(base + "/")
            api = lib.wrk(base + "/api/v1/people", args=(f"OSDI-API-Token: {token}",))
    for name, result in (("home", home), ("api", api)):
        assert result["non2xx"] == 0 and result["errors"] == 0, f"{name}: {result}"
    print(lib.table([
        ("home page req/s (vs /ping)", home["rps"], floor["ping"]["rps"]),
        ("home page p99 ms", home["p99_ms"], floor["ping"]["p99_ms"]),
        ("API /people with token req/s (vs /count)", api["rps"], floor["count"]["rps"]),
        ("API /people p99 ms", api["p99_ms"], floor["count"]["p99_ms"]),
    ]))


if __name__ == "__main__":
    main()
