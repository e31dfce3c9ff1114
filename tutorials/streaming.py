"""Serving media files: HTTP range requests (206, 416), validators and caching.

Starlette's ``FileResponse`` answers ``Range`` and ``If-Range`` (single and multiple
ranges, ``416`` with ``Content-Range: bytes */size``) and sets ``ETag``,
``Last-Modified`` and ``Accept-Ranges``; here a conditional GET is answered with
``304`` and every response carries ``Cache-Control``.
"""

from __future__ import annotations

from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path

from fastapi import Request
from fastapi.responses import FileResponse, Response

# Media URLs are stable per tutorial while the file behind them changes on a re-render:
# let caches keep them for an hour and revalidate with the ETag afterwards.
CACHE_CONTROL = "public, max-age=3600, must-revalidate"


def etag_of(path: Path) -> str:
    stat = path.stat()
    return f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'


def serve_file(request: Request, path: Path, media_type: str) -> Response:
    stat = path.stat()
    etag = etag_of(path)
    last_modified = formatdate(stat.st_mtime, usegmt=True)
    headers = {
        "ETag": etag,
        "Last-Modified": last_modified,
        "Cache-Control": CACHE_CONTROL,
        "Accept-Ranges": "bytes",
    }
    if _not_modified(request, etag, stat.st_mtime):
        return Response(status_code=304, headers=headers)
    return FileResponse(path, media_type=media_type, headers=headers, stat_result=stat)


def _not_modified(request: Request, etag: str, mtime: float) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return etag in tags or "*" in tags
    since = request.headers.get("if-modified-since")
    if since:
        try:
            return int(mtime) <= int(parsedate_to_datetime(since).timestamp())
        except (TypeError, ValueError):
            return False
    return False
