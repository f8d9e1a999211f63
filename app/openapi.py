"""``GET /openapi.yaml``: the OpenAPI description of Fixloop's own routes, shipped in the package.

The file is read once, on the first request, and kept: it never changes while the process runs.
"""

from __future__ import annotations

import functools
from importlib import resources

from aiohttp import web

CONTENT_TYPE = "application/yaml"


@functools.cache
def openapi_document() -> bytes:
    return resources.files("app").joinpath("openapi.yaml").read_bytes()


async def openapi_endpoint(request: web.Request) -> web.Response:
    return web.Response(body=openapi_document(), content_type=CONTENT_TYPE, charset="utf-8")
