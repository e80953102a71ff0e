"""Every read model the projector maintains, in one list (used by serve, projector, replay)."""

from __future__ import annotations

from backend.projections.runner import Projection


def all_projections() -> list[Projection]:
    from backend.projections.cloudstorages import CloudStoragesProjection
    from backend.projections.job_objects import JobObjectsProjection
    from backend.projections.jobs import JobsProjection
    from backend.projections.resources import ResourcesProjection
    from backend.projections.review import ReviewProjection
    from backend.projections.webhooks import WebhookSnapshotsProjection, WebhooksProjection

    # The webhook pair brackets the resource projections: snapshots of what an event is
    # about to change come first, the payloads read after it last.
    return [
        WebhookSnapshotsProjection(), JobsProjection(), JobObjectsProjection(),
        ResourcesProjection(), CloudStoragesProjection(), ReviewProjection(),
        WebhooksProjection(),
    ]  # fmt: skip
