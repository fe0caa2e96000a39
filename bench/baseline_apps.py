"""The baselines of ../shared/BENCHMARKS.md, served beside rolecall in the same run.

`gunicorn 'bench.baseline_apps:redis_get()'`: a bare Flask endpoint doing one Redis
GET of a ~2 KB JSON value (and `/noop`, the same with no Redis call: the framework
floor). `gunicorn 'bench.baseline_apps:insert_user()'`: a bare Flask + SQLAlchemy
endpoint inserting one user row and committing.
"""

from __future__ import annotations

import json
import os
import time
import uuid

import redis
from flask import Flask, Response, g, request
from sqlalchemy import JSON, Column, DateTime, Index, MetaData, String, Table, create_engine, func

VALUE_KEY = "bench:baseline:value"
TWO_KB = json.dumps({"scopes": {f"scope-{i}": {"area": "view"} for i in range(60)}})


def _timed(app: Flask) -> Flask:
    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        elapsed_ms = (time.perf_counter() - g.started) * 1000
        response.headers["Server-Timing"] = f"app;dur={elapsed_ms:.3f}"
        return response

    return app


def redis_get() -> Flask:
    client = redis.Redis.from_url(os.environ["BENCH_REDIS_URL"])
    client.set(VALUE_KEY, TWO_KB)
    app = _timed(Flask("baseline-redis"))

    @app.get("/redis")
    def one_get() -> Response:
        return Response(client.get(VALUE_KEY), mimetype="application/json")

    @app.get("/noop")
    def noop() -> Response:
        return Response(TWO_KB, mimetype="application/json")

    return app


def insert_user() -> Flask:
    engine = create_engine(
        os.environ["BENCH_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://"),
        pool_size=5,
    )
    metadata = MetaData()
    users = Table(
        "bench_baseline_users",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("tenant_id", String(36), nullable=False),
        Column("user_name", String(300), nullable=False),
        Column("external_id", String(300)),
        Column("document", JSON, nullable=False),
        Column("created", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    Index(
        "uq_bench_baseline_users_name",
        users.c.tenant_id,
        func.lower(users.c.user_name),
        unique=True,
    )
    metadata.create_all(engine)
    app = _timed(Flask("baseline-insert"))
    tenant = str(uuid.uuid4())

    @app.post("/users")
    def insert() -> tuple[Response, int]:
        body = request.get_json()
        row = {
            "id": str(uuid.uuid4()),
            "tenant_id": tenant,
            "user_name": body["userName"],
            "external_id": body.get("externalId"),
            "document": body,
        }
        with engine.begin() as connection:
            connection.execute(users.insert().values(**row))
        return Response(json.dumps({"id": row["id"], **body}), mimetype="application/json"), 201

    return app
