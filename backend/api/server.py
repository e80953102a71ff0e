"""/api/server/*: what clients ask before anything else."""

from __future__ import annotations

import asyncio

import msgspec

from backend.api.errors import ApiError, not_found
from backend.api.routing import ApiRequest, ApiRouter
from backend.formats import registry
from backend.media.share import FileInfo, Share, ShareError

router = ApiRouter("server")

# cvat-sdk 2.80 accepts servers ~=2.80.0 / ~=2.81.0 and crashes on an unparsable version.
CVAT_COMPATIBLE_VERSION = "2.80.0"


class About(msgspec.Struct, frozen=True):
    name: str
    description: str
    version: str
    logo_url: str
    subtitle: str


class Plugins(msgspec.Struct, frozen=True):
    GIT_INTEGRATION: bool = False
    ANALYTICS: bool = False
    MODELS: bool = False
    PREDICT: bool = False


class FormatInfo(msgspec.Struct, frozen=True):
    name: str
    ext: str
    version: str
    enabled: bool
    dimension: str = "2d"


class Formats(msgspec.Struct, frozen=True):
    importers: list[FormatInfo]
    exporters: list[FormatInfo]


@router.get("/api/server/about", response=About, auth=False, summary="Server name and version")
async def about(req: ApiRequest) -> About:
    return About(
        name="Vellum",
        description="Event-sourced, realtime collaborative annotation server speaking the "
        "CVAT REST API.",
        version=CVAT_COMPATIBLE_VERSION,
        logo_url="",
        subtitle="Collaborative annotation with a complete audit trail",
    )


@router.get("/api/server/plugins", response=Plugins, summary="Optional server features")
async def plugins(req: ApiRequest) -> Plugins:
    return Plugins()


@router.get("/api/server/annotation/formats", response=Formats, summary="Import and export formats")
async def formats(req: ApiRequest) -> Formats:
    # Every format of the catalog; one without a working importer/exporter is enabled=false.
    return msgspec.convert(registry.listing(), Formats)


class ShareQuery(msgspec.Struct, kw_only=True):
    directory: str = "/"
    search: str = ""  # a name prefix


@router.get(
    "/api/server/share", query=ShareQuery, response=list[FileInfo],
    summary="Files and directories of the server share (VELLUM_SHARE_ROOT) at a path",
)  # fmt: skip
async def share(req: ApiRequest) -> list[FileInfo]:
    query: ShareQuery = req.query
    root = Share.configured(req.container.settings.share_root)
    if root is None:
        # No share configured: an empty share, so clients that browse it show nothing.
        if query.directory.strip("/"):
            raise not_found(f"{query.directory}: this server has no share")
        return []
    try:
        return await asyncio.to_thread(root.listing, query.directory, query.search)
    except ShareError as exc:
        raise (not_found(str(exc)) if exc.missing else ApiError(400, str(exc))) from None
