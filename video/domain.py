"""How video declares itself to the kernel (entry point ``servicepoint.domains``)."""

from servicepoint.domains import Domain

DOMAIN = Domain(
    package="video",
    order=30,
    routers=("video.api", "video.views"),
    tables=("video.models",),
    templates=("templates",),
    # Outermost: in a scale-out, a consultation's requests go to the process that holds it.
    middleware=("video.routing:VideoRouting",),
)
