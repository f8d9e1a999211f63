"""app/openapi.yaml is a valid OpenAPI document and lists exactly the routes ``create_app`` serves.

Both directions are checked (a route nobody described, a described route nobody serves), so the
document cannot go stale silently. The served copy (``GET /openapi.yaml``) is the packaged file.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from openapi_spec_validator import validate

from app.openapi import openapi_document
from app.server import create_app
from app.settings import Settings
from tests.harness import AppHarness, base_env

HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")


def described_operations() -> set[tuple[str, str]]:
    document = yaml.safe_load(openapi_document())
    return {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def routed_operations(tmp_path: Path) -> set[tuple[str, str]]:
    settings = Settings.from_env(base_env(None, f"sqlite:///{tmp_path / 'app.db'}"))
    app = create_app(settings)  # services start only when the app runs: building it is cheap
    return {(route.resource.canonical, route.method) for route in app.router.routes() if route.resource}


def test_the_description_is_valid_openapi() -> None:
    validate(yaml.safe_load(openapi_document()))


def test_every_route_is_described_and_every_description_is_routed(tmp_path: Path) -> None:
    described, routed = described_operations(), routed_operations(tmp_path)
    assert routed - described == set(), "routes the description is missing"
    assert described - routed == set(), "described operations no route serves"
    assert len(routed) >= 13  # a sanity bound: an empty router would make both sides trivially equal


def test_every_operation_documents_its_refusals() -> None:
    """Authenticated routes say what a missing credential gets; every route lists its statuses."""
    document = yaml.safe_load(openapi_document())
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            assert operation["responses"], f"{method} {path} lists no response"
            if operation.get("security"):
                assert "401" in operation["responses"], f"{method} {path} is authenticated but has no 401"


async def test_the_app_serves_the_packaged_description(app_harness: AppHarness) -> None:
    answer = await app_harness.client.get("/openapi.yaml")
    assert answer.status == 200
    assert answer.content_type == "application/yaml"
    assert await answer.read() == openapi_document()
