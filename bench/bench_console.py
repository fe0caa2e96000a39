"""What a console page costs beside the API call that reads the same data (issue 19),
../shared/BENCHMARKS.md's method: rolecall on PostgreSQL and Redis under gunicorn
(-w 2 -k sync), loaded by wrk (-t1 -c16, a warm-up, three runs, min / median / max).

The tenant holds 100,000 audit rows, 40 % of them SCIM operations from two IdPs
(bench_provisioning_log's seed). Each console page is signed in with a session cookie
(the session looked up and its admin token checked on every request, the HTML rendered
from templates); its baseline is the admin API's JSON answer to the same question,
authenticated by bearer token, in the same run:

- the provisioning log, rejected operations, page 1 (50 rows) beside
  GET /api/v1/provisioning-log?outcome=rejected&page_size=50;
- the provisioning log unfiltered, page 1, beside the API's unfiltered page;
- the audit log's first page beside GET /api/v1/audit?page_size=50;
- the Connection page (the tokens and each IdP's last request over the 100,000 rows)
  beside GET /api/v1/tokens.

Prints figures, baselines and ratios; never fails on speed.

    python bench/bench_console.py [--rows 100000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests

from bench.bench_provisioning_log import seed
from bench.harness import fresh_runtime, gunicorn, load
from service.persistence import schema
from service.services import tokens

DATABASE = "rolecall_bench_console"
REDIS_URL = "redis://127.0.0.1:6379/6"
PAIRS = (
    (
        "provisioning log, rejected",
        "/console/provisioning?outcome=rejected",
        "/api/v1/provisioning-log?outcome=rejected&page_size=50",
    ),
    ("provisioning log, all", "/console/provisioning", "/api/v1/provisioning-log?page_size=50"),
    ("audit log", "/console/audit", "/api/v1/audit?page_size=50"),
    ("connection", "/console/", "/api/v1/tokens"),
)


def signed_in_cookie(url: str, admin_token: str) -> str:
    """Sign in as a browser does; the session cookie to send. (The cookies are Secure in
    production, which requests keeps off plain http, so they are sent by hand here.)"""
    form = requests.get(f"{url}/console/sign-in", timeout=10)
    nonce = re.search(r'name="sign_in_nonce" value="([^"]+)"', form.text)
    if nonce is None:
        raise SystemExit("the sign-in form has no nonce")
    done = requests.post(
        f"{url}/console/sign-in",
        data={"sign_in_nonce": nonce.group(1), "token": admin_token},
        headers={"Cookie": f"rolecall_console_sign_in={form.cookies['rolecall_console_sign_in']}"},
        allow_redirects=False,
        timeout=10,
    )
    if done.status_code != 303:
        raise SystemExit(f"sign-in refused: {done.status_code}")
    return f"rolecall_console={done.cookies['rolecall_console']}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    with fresh_runtime(DATABASE, REDIS_URL) as runtime:
        runtime.redis.flushdb()
        schema.upgrade(runtime.engine)
        tenant_id = seed(runtime, args.rows)
        with runtime.unit_of_work() as uow:
            admin = tokens.issue_token(uow, tenant_id, "admin").plaintext
        env = {
            "ROLECALL_ENV": "production",
            "ROLECALL_DATABASE_URL": runtime.settings.database_url,
            "ROLECALL_REDIS_URL": REDIS_URL,
            "ROLECALL_BROKER_URL": "redis://127.0.0.1:6379/5",
            "ROLECALL_SECRET_KEY": "bench",
            "ROLECALL_LOG_LEVEL": "WARNING",
            "ROLECALL_RATE_LIMIT_ADMIN": "off",
        }
        with gunicorn("service.app:create_app()", env) as url:
            cookie = signed_in_cookie(url, admin)
            print(f"{args.rows} audit rows; gunicorn -w 2 -k sync; wrk -t1 -c16 -d{args.seconds}s")
            for name, page, api in PAIRS:
                html = load(f"{url}{page}", cookie=cookie, seconds=args.seconds)
                json_ = load(f"{url}{api}", auth=f"Bearer {admin}", seconds=args.seconds)
                print(f"{name}: console {page}: {html.describe()}")
                print(f"{name}: baseline API {api}: {json_.describe()}")
                ratio = min(html.server_p50_ms) / min(json_.server_p50_ms)
                print(
                    f"{name}: ratio console / API, server p50 {ratio:.2f}; "
                    f"requests/s API / console {json_.median_rps / html.median_rps:.2f}"
                )


if __name__ == "__main__":
    main()
