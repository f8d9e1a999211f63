"""A real OCI registry for the tests: Debian's `docker-registry` (CNCF distribution 2.8) on loopback.

Not a fake: the registry binary runs with a temporary config, behind distribution's own token auth
(`auth.token`), whose token service is served here: it signs JWTs with a throwaway self-signed
certificate (the registry trusts it through `rootcertbundle`, the `x5c` header names it). Its policy:
repositories under `public/` may be pulled anonymously, those under `private/` only with READER's
credentials, and only PUSHER may push. Images are pushed over the distribution API itself.

    async with Registry.start() as registry:
        digest = await registry.push_image("public/web", "v1", {"org.opencontainers.image.revision": sha})

Without the binary the tests skip, except where `FIXLOOP_TEST_REQUIRE_REGISTRY=1` (CI installs it).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.processes import free_port

BINARY = "docker-registry"
SERVICE = "fixloop-test-registry"
ISSUER = "fixloop-test-token-service"
READER = ("reader", "reader-secret")
PUSHER = ("pusher", "pusher-secret")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"


def require_binary() -> str:
    path = shutil.which(BINARY)
    if path is None:
        if os.environ.get("FIXLOOP_TEST_REQUIRE_REGISTRY") == "1":
            pytest.fail(f"{BINARY} not installed (apt-get install -y docker-registry)")
        pytest.skip(f"{BINARY} not installed (apt-get install -y docker-registry)")
    return path


def _certificate() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


@dataclass
class Registry:
    workdir: Path
    port: int
    token_port: int
    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    process: subprocess.Popen[bytes] | None = None
    runner: web.AppRunner | None = None
    token_requests: list[dict[str, str]] = field(default_factory=list)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @classmethod
    @contextlib.asynccontextmanager
    async def start(cls) -> AsyncIterator[Registry]:
        binary = require_binary()
        with tempfile.TemporaryDirectory(prefix="fixloop-registry-") as tmp:
            key, cert = _certificate()
            registry = cls(Path(tmp), free_port(), free_port(), key, cert)
            await registry._serve_tokens()
            try:
                registry._launch(binary)
                await registry._wait_ready()
                yield registry
            finally:
                await registry._stop()

    def _launch(self, binary: str) -> None:
        bundle = self.workdir / "root.crt"
        bundle.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        config = {
            "version": 0.1,
            "log": {"level": "error", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(self.workdir / "data")}},
            "http": {"addr": self.host},
            "auth": {
                "token": {
                    "realm": f"http://127.0.0.1:{self.token_port}/token",
                    "service": SERVICE,
                    "issuer": ISSUER,
                    "rootcertbundle": str(bundle),
                }
            },
        }
        path = self.workdir / "config.yml"
        path.write_text(json.dumps(config))  # JSON is YAML
        log = (self.workdir / "registry.log").open("wb")
        self.process = subprocess.Popen([binary, "serve", str(path)], stdout=log, stderr=subprocess.STDOUT)

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + 15
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError((self.workdir / "registry.log").read_text()[-2000:])
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"http://{self.host}/v2/") as answer:
                        if answer.status == 401:
                            return
                await asyncio.sleep(0.1)
        raise RuntimeError("docker-registry did not start in 15 s")

    async def _stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.runner is not None:
            await self.runner.cleanup()

    # --- the token service (distribution's docs/spec/auth/token.md) --------------------------------

    async def _serve_tokens(self) -> None:
        app = web.Application()
        app.router.add_get("/token", self._token)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.token_port).start()

    def _who(self, request: web.Request) -> str:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return ""
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user if (user, password) in (READER, PUSHER) else "refused"

    async def _token(self, request: web.Request) -> web.Response:
        who = self._who(request)
        self.token_requests.append({"who": who, "scope": request.query.get("scope", "")})
        if who == "refused":
            return web.json_response({"details": "incorrect username or password"}, status=401)
        access = []
        for scope in request.query.getall("scope", []):
            kind, name, actions = scope.split(":", 2)
            allowed = {"pull", "push"} if who == PUSHER[0] else set()
            if name.startswith("public/") or (who == READER[0] and name.startswith("private/")):
                allowed.add("pull")
            access.append({"type": kind, "name": name, "actions": sorted(allowed & set(actions.split(",")))})
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": who or "anonymous",
            "aud": request.query.get("service", ""),
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        x5c = [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()]
        token = jwt.encode(claims, self.key, algorithm="RS256", headers={"x5c": x5c})
        return web.json_response({"token": token, "access_token": token, "expires_in": 300})

    # --- pushing, over the distribution API ------------------------------------------------------

    async def _push_token(self, session: aiohttp.ClientSession, name: str) -> str:
        auth = {"Authorization": "Basic " + base64.b64encode(":".join(PUSHER).encode()).decode()}
        query = {"service": SERVICE, "scope": f"repository:{name}:pull,push"}
        async with session.get(
            f"http://127.0.0.1:{self.token_port}/token", params=query, headers=auth
        ) as answer:
            return str((await answer.json())["token"])

    async def push_blob(self, name: str, data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        async with aiohttp.ClientSession() as session:
            headers = {"Authorization": "Bearer " + await self._push_token(session, name)}
            async with session.post(
                f"http://{self.host}/v2/{name}/blobs/uploads/", headers=headers
            ) as answer:
                assert answer.status == 202, await answer.text()
                location = answer.headers["Location"]
            url = location if location.startswith("http") else f"http://{self.host}{location}"
            sep = "&" if "?" in url else "?"
            put = {**headers, "Content-Type": "application/octet-stream"}
            async with session.put(f"{url}{sep}digest={digest}", data=data, headers=put) as answer:
                assert answer.status == 201, await answer.text()
        return digest

    async def push_manifest(self, name: str, reference: str, manifest: dict[str, Any]) -> str:
        body = json.dumps(manifest).encode()
        async with aiohttp.ClientSession() as session:
            headers = {
                "Authorization": "Bearer " + await self._push_token(session, name),
                "Content-Type": manifest["mediaType"],
            }
            url = f"http://{self.host}/v2/{name}/manifests/{reference}"
            async with session.put(url, data=body, headers=headers) as answer:
                assert answer.status == 201, await answer.text()
        return "sha256:" + hashlib.sha256(body).hexdigest()

    async def push_image(self, name: str, tag: str, labels: dict[str, str], *, index: bool = False) -> str:
        """An image (config with `labels`, one empty layer) under `tag`; `index`: behind an image index
        listing an arm64 image first, then it. Returns the digest `tag` points to."""
        manifests = []
        for arch in ("arm64", "amd64") if index else ("amd64",):
            config = {
                "architecture": arch,
                "os": "linux",
                "config": {"Labels": labels if arch == "amd64" else {}},
                "rootfs": {"type": "layers", "diff_ids": []},
            }
            config_bytes = json.dumps(config).encode()
            layer = await self.push_blob(name, b"")
            manifest = {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {
                    "mediaType": OCI_CONFIG,
                    "digest": await self.push_blob(name, config_bytes),
                    "size": len(config_bytes),
                },
                "layers": [
                    {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": 0}
                ],
            }
            reference = tag if not index else f"{tag}-{arch}"
            digest = await self.push_manifest(name, reference, manifest)
            size = len(json.dumps(manifest).encode())
            manifests.append(
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": digest,
                    "size": size,
                    "platform": {"os": "linux", "architecture": arch},
                }
            )
        if not index:
            return manifests[0]["digest"]
        return await self.push_manifest(
            name, tag, {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
        )
