"""The ops dashboard (issue 14): a static page at `/dashboard` and its files under
`/dashboard/static/`. The page holds no data — everything it shows comes through the keyed
API — so it is served without a key. Only files found in `app/dashboard/static/` at start-up
are served (no path from a request ever reaches the file system), with a content security
policy that lets the page talk to this service and nothing else."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from starlette.responses import FileResponse, RedirectResponse

STATIC_DIR = Path(__file__).resolve().parents[1] / "dashboard" / "static"
STATIC_URL = "/dashboard/static"  # what the page and the docs page load their files from

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
# 'self' covers this service's own ws:// and wss:// URLs for connect-src in today's browsers
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _files(root: Path) -> dict[str, Path]:
    """URL path under STATIC_URL → file, for every servable file below `root`."""
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix in _TYPES}


FILES = _files(STATIC_DIR)
router = APIRouter(include_in_schema=False)


def _answer(path: Path, *, page: bool = False) -> FileResponse:
    headers = dict(_HEADERS)
    if page:
        headers["Content-Security-Policy"] = CSP
    return FileResponse(path, media_type=_TYPES[path.suffix], headers=headers)


@router.get("/dashboard")
async def dashboard() -> FileResponse:
    """The page. Its links are relative to `/dashboard`, so it works behind a path prefix."""
    return _answer(FILES["index.html"], page=True)


@router.get("/dashboard/")
async def dashboard_slash() -> RedirectResponse:
    return RedirectResponse("../dashboard", status_code=308)


@router.get(STATIC_URL + "/{name:path}")
async def static_file(name: str) -> FileResponse:
    path = FILES.get(name)
    if path is None:
        raise HTTPException(404, f"no such dashboard file: {name}")
    return _answer(path)
