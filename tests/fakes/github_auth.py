"""Credentials as GitHub checks them: App JWTs, installation tokens, OAuth user tokens."""

from __future__ import annotations

import html
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import jwt
from aiohttp import web

from tests.fakes.github_state import Caller, GitHubState

DOCS = "https://docs.github.com/rest"
INSTALLATION_TOKEN_TTL = 3600
USER_TOKEN_TTL = 28800
REFRESH_TOKEN_TTL = 15897600
CODE_TTL = 600
JWT_MAX_LIFETIME = 600
CLOCK_SKEW = 60  # GitHub tolerates a little drift; its docs advise iat 60 s in the past


class GitHubError(Exception):
    """An error answer, in GitHub's shape: {"message", "documentation_url", ...}."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        documentation_url: str = DOCS,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {message}")
        self.status, self.message, self.headers = status, message, headers or {}
        self.body: dict[str, Any] = {"message": message, "documentation_url": documentation_url}
        if errors is not None:
            self.body["errors"] = errors
        self.body["status"] = str(status)


def bad_credentials() -> GitHubError:
    return GitHubError(401, "Bad credentials")


@dataclass
class Token:
    value: str
    kind: Literal["installation", "user"]
    expires_at: float
    installation_id: int | None = None
    login: str | None = None
    repos: frozenset[str] | None = None  # an installation token asked for fewer repositories
    revoked: bool = False


@dataclass
class Grant:
    """An OAuth code or refresh token waiting to be exchanged."""

    login: str
    expires_at: float
    redirect_uri: str | None = None
    access_token: str | None = None


def _random(prefix: str, size: int = 36) -> str:
    return prefix + secrets.token_urlsafe(size)[:size]


class Auth:
    def __init__(self, state: GitHubState, public_key_pem: str, client_id: str, client_secret: str) -> None:
        self.state = state
        # GitHub accepts a JWT signed by any key registered for the App (a rotation registers two).
        self.public_keys = [public_key_pem]
        self.client_id, self.client_secret = client_id, client_secret
        self.tokens: dict[str, Token] = {}
        self.codes: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        self.approvals: list[str] = []

    # --- minting --------------------------------------------------------------------------------

    def installation_token(self, installation_id: int, repos: frozenset[str] | None = None) -> Token:
        token = Token(
            _random("ghs_"),
            "installation",
            time.time() + INSTALLATION_TOKEN_TTL,
            installation_id,
            repos=repos,
        )
        self.tokens[token.value] = token
        return token

    def user_token(self, login: str) -> dict[str, Any]:
        """Mint a user-to-server token pair; return GitHub's token response."""
        self.state.user(login)
        token = Token(_random("ghu_"), "user", time.time() + USER_TOKEN_TTL, login=login)
        refresh = _random("ghr_", 76)
        self.tokens[token.value] = token
        self.refresh_tokens[refresh] = Grant(login, time.time() + REFRESH_TOKEN_TTL, access_token=token.value)
        return {
            "access_token": token.value,
            "expires_in": USER_TOKEN_TTL,
            "refresh_token": refresh,
            "refresh_token_expires_in": REFRESH_TOKEN_TTL,
            "scope": "",
            "token_type": "bearer",
        }

    def code_for(self, login: str, redirect_uri: str | None = None) -> str:
        code = secrets.token_hex(10)
        self.codes[code] = Grant(login, time.time() + CODE_TTL, redirect_uri)
        return code

    # --- checking -------------------------------------------------------------------------------

    def caller(self, authorization: str | None) -> Caller:
        """The caller behind an Authorization header, or GitHubError(401)."""
        if not authorization:
            raise GitHubError(401, "Requires authentication")
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() not in ("bearer", "token") or not value.strip():
            raise bad_credentials()
        value = value.strip()
        if value.count(".") == 2 and scheme.lower() == "bearer":
            return self._jwt_caller(value)
        token = self.tokens.get(value)
        if token is None or token.revoked or token.expires_at <= time.time():
            raise bad_credentials()
        if token.kind == "installation":
            inst = self.state.installations.get(token.installation_id or 0)
            if inst is None:
                raise bad_credentials()
            return Caller("installation", self.state.app_bot, inst.id)
        return Caller("user", self.state.user(token.login or ""))

    def _jwt_caller(self, value: str) -> Caller:
        claims = None
        for public_key in self.public_keys:
            try:
                claims = jwt.decode(
                    value,
                    public_key,
                    algorithms=["RS256"],
                    options={"verify_exp": False, "verify_iat": False},
                )
                break
            except jwt.PyJWTError:
                continue
        if claims is None:
            raise GitHubError(401, "A JSON web token could not be decoded")
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or iat > now + CLOCK_SKEW:
            raise GitHubError(
                401,
                "'Issued at' claim ('iat') must be an Integer representing the time that the "
                "assertion was issued",
            )
        if not isinstance(exp, int) or exp <= now:
            raise GitHubError(
                401,
                "'Expiration time' claim ('exp') must be a numeric value representing the "
                "future time at which the assertion expires",
            )
        if exp - iat > JWT_MAX_LIFETIME or exp > now + JWT_MAX_LIFETIME + CLOCK_SKEW:
            raise GitHubError(401, "'Expiration time' claim ('exp') is too far in the future")
        if str(claims.get("iss")) not in (str(self.state.app_id), self.client_id):
            raise GitHubError(401, "A JSON web token could not be decoded")
        return Caller("app")

    def token_for(self, authorization: str | None) -> Token | None:
        _, _, value = (authorization or "").partition(" ")
        return self.tokens.get(value.strip())

    def revoke(self, value: str) -> None:
        if value in self.tokens:
            self.tokens[value].revoked = True
        self.refresh_tokens.pop(value, None)

    # --- the web flow: /login/oauth/authorize and /login/oauth/access_token ----------------------

    async def authorize(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        if q.get("client_id") != self.client_id:
            return web.Response(status=404, text="Not Found")
        if not self.approvals:
            return _sign_in_page(q)
        redirect_uri = q.get("redirect_uri")
        if not redirect_uri:
            return web.Response(status=400, text="redirect_uri is required by the fake")
        raise self._back(self.approvals.pop(0), redirect_uri, q.get("state"))

    async def sign_in(self, request: web.Request) -> web.StreamResponse:
        """The sign-in form's POST (a browser test types a login and authorises the App)."""
        form = await request.post()
        login, redirect_uri = str(form.get("login", "")), str(form.get("redirect_uri", ""))
        if form.get("client_id") != self.client_id or not redirect_uri:
            return web.Response(status=404, text="Not Found")
        if login not in self.state.users:
            return web.Response(status=401, text="Incorrect username or password.")
        state = str(form["state"]) if "state" in form else None
        raise self._back(login, redirect_uri, state)

    def _back(self, login: str, redirect_uri: str, state: str | None) -> web.HTTPFound:
        code = self.code_for(login, redirect_uri)
        parts = urlsplit(redirect_uri)
        params = [*parse_qsl(parts.query), ("code", code)] + ([("state", state)] if state is not None else [])
        return web.HTTPFound(urlunsplit(parts._replace(query=urlencode(params))))

    async def access_token(self, request: web.Request) -> web.Response:
        params: dict[str, str] = dict(request.query)
        if request.can_read_body:
            raw = await request.text()
            if request.content_type == "application/json":
                params |= {k: str(v) for k, v in json.loads(raw or "{}").items()}
            else:
                params |= dict(parse_qsl(raw))
        answer = self._exchange(params)
        accept = request.headers.get("Accept", "")
        if "json" in accept:
            return web.json_response(answer)
        return web.Response(text=urlencode(answer), content_type="application/x-www-form-urlencoded")

    def _exchange(self, p: dict[str, str]) -> dict[str, Any]:
        if p.get("client_id") != self.client_id or p.get("client_secret") != self.client_secret:
            return _oauth_error(
                "incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect."
            )
        if p.get("grant_type") == "refresh_token":
            grant = self.refresh_tokens.pop(p.get("refresh_token", ""), None)
            if grant is None or grant.expires_at <= time.time():
                return _oauth_error("bad_refresh_token", "The refresh token passed is incorrect or expired.")
            if grant.access_token:  # the old user token stops working too
                self.revoke(grant.access_token)
            return self.user_token(grant.login)
        grant = self.codes.pop(p.get("code", ""), None)
        if grant is None or grant.expires_at <= time.time():
            return _oauth_error("bad_verification_code", "The code passed is incorrect or expired.")
        if p.get("redirect_uri") and grant.redirect_uri and p["redirect_uri"] != grant.redirect_uri:
            return _oauth_error(
                "redirect_uri_mismatch",
                "The redirect_uri MUST match the registered callback URL for this application.",
            )
        return self.user_token(grant.login)


def _sign_in_page(query: Mapping[str, str]) -> web.Response:
    """GitHub's "Sign in to GitHub to continue" page, reduced to a login field and an Authorize button."""
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(query[k])}">'
        for k in ("client_id", "redirect_uri", "state")
        if k in query
    )
    body = (
        "<html><head><title>Sign in to GitHub</title></head><body><h1>Sign in to GitHub to continue</h1>"
        f'<form method="post" action="/login/oauth/authorize">{hidden}'
        '<input id="login_field" name="login" autocomplete="username">'
        '<button id="authorize" type="submit">Authorize</button></form></body></html>'
    )
    return web.Response(text=body, content_type="text/html")


def _oauth_error(error: str, description: str) -> dict[str, Any]:
    anchor = error.replace("_", "-")
    return {
        "error": error,
        "error_description": description,
        "error_uri": f"https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#{anchor}",
    }
