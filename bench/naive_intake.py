"""The naive durable intake the closed-loop benchmark compares Fixloop's against.

    .venv/bin/python -m bench.naive_intake --port 8099 --database /tmp/naive.db

An aiohttp handler as anyone would write it first: read the body, check ``X-Hub-Signature-256`` (HMAC-SHA256,
``hmac.compare_digest``), insert the body into SQLite and commit, one commit per request, then answer 202.
No parsing, no queue, no workers: the floor a durable intake has to reach. The SQLite file gets the same
durability as Fixloop's intake (WAL, ``synchronous = FULL``: a delivery acknowledged is on the disk, not
only in the OS's cache) so the two pay the same for a commit, and the delivery id is unique as Fixloop's
job key is (a redelivery is answered, not stored twice). ``--synchronous NORMAL`` gives the weaker level
(a power cut may take the last acknowledged deliveries back) for comparison.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import sqlite3
import time

from aiohttp import web

from bench.webhook import SECRET

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS deliveries (id INTEGER PRIMARY KEY, delivery TEXT NOT NULL UNIQUE,"
    " event TEXT NOT NULL, body BLOB NOT NULL, received_at REAL NOT NULL)"
)


SYNCHRONOUS = ("FULL", "NORMAL")


def open_database(path: str, synchronous: str = "FULL") -> sqlite3.Connection:
    if synchronous not in SYNCHRONOUS:
        raise ValueError(f"synchronous must be one of {SYNCHRONOUS}")
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode = WAL", f"synchronous = {synchronous}"):
        db.execute(f"PRAGMA {pragma}").fetchall()
    db.execute(SCHEMA)
    return db


def make_app(db: sqlite3.Connection, secret: bytes) -> web.Application:
    async def webhook(request: web.Request) -> web.Response:
        body = await request.read()
        expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("X-Hub-Signature-256", ""), expected):
            return web.json_response({"error": "bad signature"}, status=401)
        delivery = request.headers.get("X-GitHub-Delivery", "")
        event = request.headers.get("X-GitHub-Event", "")
        db.execute("BEGIN")
        db.execute(
            "INSERT INTO deliveries (delivery, event, body, received_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (delivery) DO NOTHING",
            (delivery, event, body, time.time()),
        )
        db.execute("COMMIT")
        return web.json_response({"outcome": "stored"}, status=202)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/github/webhook", webhook)
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--synchronous", choices=SYNCHRONOUS, default="FULL")
    args = parser.parse_args()
    app = make_app(open_database(args.database, args.synchronous), SECRET.encode())
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
