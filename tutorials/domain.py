"""How tutorials declare themselves to the kernel (entry point ``servicepoint.domains``)."""

from servicepoint.domains import Domain

DOMAIN = Domain(
    package="tutorials",
    order=40,
    routers=("tutorials.api", "tutorials.views"),
    tables=("tutorials.models",),
    templates=("templates",),
)
