"""The test GitHub App's identity: an RSA key made once per process, never a real secret.

Give the app `APP_ID` and `PRIVATE_KEY_PEM` (GITHUB_APP_ID / GITHUB_PRIVATE_KEY), or write the PEM
to a file with `write_private_key(tmp_path)` for GITHUB_PRIVATE_KEY_PATH. FakeGitHub verifies App
JWTs with `PUBLIC_KEY_PEM`.
"""

from __future__ import annotations

import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

APP_ID = 424242
APP_SLUG = "fixloop-test"
CLIENT_ID = "Iv23liFIXLOOPTEST0001"
CLIENT_SECRET = "fixloop-test-client-secret-0000000000000000"  # test-only, not a real secret

_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE_KEY_PEM: str = _KEY.private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.TraditionalOpenSSL,  # "BEGIN RSA PRIVATE KEY", as GitHub hands it out
    serialization.NoEncryption(),
).decode()
PUBLIC_KEY_PEM: str = (
    _KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


def write_private_key(directory: Path) -> Path:
    """Write the PEM to `directory/app.pem` (mode 0600) and return the path."""
    path = directory / "app.pem"
    path.write_text(PRIVATE_KEY_PEM)
    path.chmod(0o600)
    return path


def app_jwt(
    app_id: int | str = APP_ID,
    *,
    private_key: str = PRIVATE_KEY_PEM,
    iat: int | None = None,
    exp: int | None = None,
) -> str:
    """An App JWT as GitHub recommends it: iat 60 s in the past, exp 9 minutes ahead."""
    now = int(time.time())
    claims = {
        "iat": now - 60 if iat is None else iat,
        "exp": now + 540 if exp is None else exp,
        "iss": str(app_id),
    }
    return jwt.encode(claims, private_key, algorithm="RS256")
