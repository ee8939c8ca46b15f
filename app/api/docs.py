"""The interactive API docs at `/docs`: Swagger UI from the files vendored beside the
dashboard (swagger-ui-dist, see app/dashboard/static/vendor/README.md), never from a CDN —
the machines that run the service have no internet. ReDoc is not served."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse

from app.api.dashboard import STATIC_URL

SWAGGER = STATIC_URL + "/vendor/swagger-ui"
router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return get_swagger_ui_html(
        openapi_url=root + (request.app.openapi_url or "/openapi.json"),
        title=f"{request.app.title} — API",
        swagger_js_url=f"{root}{SWAGGER}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{SWAGGER}/swagger-ui.css",
        swagger_favicon_url=f"{root}{SWAGGER}/favicon-32x32.png",
        # the online validator badge would call validator.swagger.io
        swagger_ui_parameters={"validatorUrl": None},
    )
