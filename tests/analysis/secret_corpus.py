"""A generated corpus of fake secrets in realistic log lines (random values in valid formats, never real).

``planted(seed)`` returns cases: the text (one or more lines) and the secret values planted in it.
``BENIGN`` lines must come out of the redactor unchanged.
"""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass

ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
UPPER_NUM = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class Case:
    kind: str
    text: str
    secrets: tuple[str, ...]


def _r(rng: random.Random, alphabet: str, n: int) -> str:
    # at least one digit and one letter, as real tokens have: a digit-free value is not a realistic key
    value = "".join(rng.choice(alphabet) for _ in range(n))
    if not any(c.isdigit() for c in value) and any(c.isdigit() for c in alphabet):
        value = value[:-1] + rng.choice(string.digits)
    return value


def _ts(rng: random.Random) -> str:
    return f"2026-03-02T10:{rng.randrange(60):02d}:{rng.randrange(60):02d}.{rng.randrange(1000):03d}Z"


def _json_log(rng: random.Random, **fields: object) -> str:
    return json.dumps({"ts": _ts(rng), "level": rng.choice(["info", "error"]), **fields})


def github(rng: random.Random) -> Case:
    token = rng.choice(["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]) + _r(rng, ALNUM, 36)
    if rng.random() < 0.3:
        token = "github_pat_" + _r(rng, ALNUM, 22) + "_" + _r(rng, ALNUM, 59)
    text = rng.choice(
        [
            f"{_ts(rng)} INFO cloning https://x-access-token:{token}@github.com/acme/web.git",
            _json_log(rng, msg="github api call", token=token),
            f"GITHUB_TOKEN={token}",
            f"{_ts(rng)} ERROR 401 from api.github.com with Authorization: token {token}",
        ]
    )
    return Case("github", text, (token,))


def aws(rng: random.Random) -> Case:
    key_id = rng.choice(["AKIA", "ASIA"]) + _r(rng, UPPER_NUM, 16)
    secret = _r(rng, B64, 40)
    text = rng.choice(
        [
            f"AWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={secret}",
            f'level=error msg="s3 put failed" access_key_id={key_id} aws_secret_access_key="{secret}"',
            _json_log(rng, msg="assume role", AccessKeyId=key_id, SecretAccessKey=secret),
        ]
    )
    return Case("aws", text, (key_id, secret))


def gcp(rng: random.Random) -> Case:
    body = "\\n".join(_r(rng, B64, 64) for _ in range(4))
    key_id = _r(rng, "0123456789abcdef", 40)
    api_key = "AIza" + _r(rng, ALNUM + "-_", 35)
    account = {
        "type": "service_account",
        "project_id": "acme-prod",
        "private_key_id": key_id,
        "private_key": f"-----BEGIN PRIVATE KEY-----\\n{body}\\n-----END PRIVATE KEY-----\\n",
        "client_email": "fixloop@acme-prod.iam.gserviceaccount.com",
    }
    text = rng.choice(
        [
            f"{_ts(rng)} DEBUG credentials loaded: " + json.dumps(account).replace("\\\\n", "\\n"),
            f"{_ts(rng)} WARN maps request failed url=https://maps.googleapis.com/maps/api/geocode/json?key={api_key}",
        ]
    )
    secrets = (key_id, *body.split("\\n")) if "credentials" in text else (api_key,)
    return Case("gcp", text, secrets)


def azure(rng: random.Random) -> Case:
    account_key = _r(rng, B64, 86) + "=="
    sig = _r(rng, ALNUM, 43) + "%3D"
    text = rng.choice(
        [
            f"DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={account_key};EndpointSuffix=core.windows.net",
            f"{_ts(rng)} INFO GET https://acme.blob.core.windows.net/c/b.txt?sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-04-01&sig={sig}",
            f"Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey={account_key[:44]}",
        ]
    )
    secret = sig if "sig=" in text else account_key[:44]
    return Case("azure", text, (secret,))


def jwt(rng: random.Random) -> Case:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    token = f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part({'sub': _r(rng, ALNUM, 12), 'iat': rng.randrange(10**9)})}.{_r(rng, ALNUM + '-_', 43)}"
    text = rng.choice(
        [
            f"{_ts(rng)} DEBUG outgoing headers: Authorization: Bearer {token}",
            _json_log(rng, msg="session", id_token=token),
            f"{_ts(rng)} INFO callback https://app.acme.dev/cb#access_token={token}&state=x",
        ]
    )
    return Case("jwt", text, (token, token.split(".")[2]))


def auth_header(rng: random.Random) -> Case:
    bearer = _r(rng, ALNUM + "-._~", 32)
    basic = base64.b64encode(f"svc:{_r(rng, ALNUM, 14)}".encode()).decode()
    text = rng.choice(
        [
            f'{_ts(rng)} 10.0.0.1 - - "GET /api HTTP/1.1" 401 headers={{"Authorization": "Bearer {bearer}"}}',
            f"{_ts(rng)} DEBUG > Authorization: Basic {basic}",
            f"curl -H 'authorization: bearer {bearer}' https://api.acme.dev/v1/orders",
        ]
    )
    return Case("authorization", text, (basic,) if basic in text else (bearer,))


def url_password(rng: random.Random) -> Case:
    password = _r(rng, ALNUM + "!$*-_", 16)
    scheme = rng.choice(["postgres", "postgresql", "mysql", "redis", "amqp", "mongodb+srv", "https"])
    text = rng.choice(
        [
            f"{_ts(rng)} ERROR connect failed: dial {scheme}://app:{password}@db.internal:5432/orders: timeout",
            f"DATABASE_URL={scheme}://orders_rw:{password}@10.0.3.4/orders?sslmode=require",
            'Traceback (most recent call last):\n  File "/app/db.py", line 9, in connect\n'
            f"sqlalchemy.exc.OperationalError: could not connect to {scheme}://app:{password}@db:5432/x",
        ]
    )
    return Case("url_password", text, (password,))


def connection_string(rng: random.Random) -> Case:
    password = _r(rng, ALNUM + "!#%", 14)
    text = rng.choice(
        [
            f"Server=tcp:acme.database.windows.net,1433;Database=orders;User ID=app;Password={password};Encrypt=True",
            f"{_ts(rng)} ERROR Login failed. ConnectionString: Host=db;Username=app;Pwd={password};Timeout=15",
        ]
    )
    return Case("connection_string", text, (password,))


def pem(rng: random.Random) -> Case:
    kind = rng.choice(["RSA PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "PRIVATE KEY"])
    body = [_r(rng, B64, 64) for _ in range(rng.randrange(3, 8))]
    prefix = _ts(rng) + " " if rng.random() < 0.5 else ""
    lines = [f"{prefix}loading TLS key", f"{prefix}-----BEGIN {kind}-----"]
    lines += [f"{prefix}{line}" for line in body] + [f"{prefix}-----END {kind}-----", f"{prefix}key loaded"]
    return Case("private_key", "\n".join(lines), tuple(body))


def slack(rng: random.Random) -> Case:
    token = f"xox{rng.choice('bpas')}-{rng.randrange(10**11, 10**12)}-{rng.randrange(10**11, 10**12)}-{_r(rng, ALNUM, 24)}"
    return Case(
        "slack",
        rng.choice([f"SLACK_BOT_TOKEN={token}", _json_log(rng, msg="notify", slack_token=token)]),
        (token,),
    )


def stripe(rng: random.Random) -> Case:
    key = rng.choice(["sk_live_", "rk_live_", "sk_test_"]) + _r(rng, ALNUM, 24)
    text = rng.choice([f"{_ts(rng)} ERROR stripe charge failed api_key={key}", f"STRIPE_SECRET_KEY: {key}"])
    return Case("stripe", text, (key,))


def generic(rng: random.Random) -> Case:
    value = _r(rng, ALNUM + "-_", rng.randrange(16, 40))
    name = rng.choice(
        [
            "api_key",
            "apiKey",
            "X-Api-Key",
            "client_secret",
            "SECRET_TOKEN",
            "password",
            "db_password",
            "access_token",
            "refresh_token",
            "signing_key",
            "WEBHOOK_SECRET",
            "private_key_id",
        ]
    )
    text = rng.choice(
        [
            f'{_ts(rng)} level=warn msg="retrying" {name}={value} attempt=3',
            _json_log(rng, msg="config loaded", **{name: value}),
            f"{name.upper()}: {value}",
            f'{_ts(rng)} ERROR validation failed for {{"{name}": "{value}", "user": "bob"}}',
            f"  File \"/app/cfg.py\", line 3, in load\nValueError: bad config {name}='{value}'",
        ]
    )
    return Case("generic", text, (value,))


GENERATORS: tuple[Callable[[random.Random], Case], ...] = (
    github,
    aws,
    gcp,
    azure,
    jwt,
    auth_header,
    url_password,
    connection_string,
    pem,
    slack,
    stripe,
    generic,
)


def planted(seed: int = 20260302, per_kind: int = 20) -> list[Case]:
    rng = random.Random(seed)
    return [generator(rng) for generator in GENERATORS for _ in range(per_kind)]


BENIGN = (
    "2026-03-02T10:00:01Z INFO deployed commit 3f9a1c2e4b5d6f708192a3b4c5d6e7f8091a2b3c to prod",
    "image ghcr.io/acme/web@sha256:9b2f1d1e4c7a8b3d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5",
    "request_id=123e4567-e89b-12d3-a456-426614174000 trace_id=4bf92f3577b34da6a3ce929d0e0e4736 status=200",
    "pod rollouts-demo-7b6cd8d9f4-9dk2x pod-template-hash=7b6cd8d9f4 rollouts-pod-template-hash=687d76d795",
    '{"level":"info","msg":"served","duration_ms":12.5,"bytes":5120,"user_id":42,"order":"A-10023"}',
    "GET /api/v1/orders/12345 -> 200 (3.2ms) from 10.244.0.5:47172",
    'MountVolume.SetUp failed for volume "secret-vol" : secret "app-secret" not found',
    'level=info msg="token bucket refilled" tokens=512 max_tokens=4096 token_count=12',
    "password_reset=true password_policy=strict keys=3 session opened for user 7",
    "panic: runtime error: index out of range [0] with length 0",
    "\t/go/src/github.com/argoproj/rollouts-demo/main.go:214 +0x1c5",
    "Authorization header missing; basic auth disabled",
    "PWD=/home/app HOME=/home/app PATH=/usr/local/bin:/usr/bin",
    'uuid 550e8400-e29b-41d4-a716-446655440000 etag W/"5d41402abc4b2a76b9719d911017c592"',
    "kubectl rollout: replicaset web-5d4c3b2a1 scaled to 3, generation 17, observedGeneration 17",
)
