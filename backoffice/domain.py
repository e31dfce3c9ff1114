"""How the back office declares itself to the kernel (entry point ``servicepoint.domains``)."""

from servicepoint.domains import Domain

DOMAIN = Domain(
    package="backoffice",
    order=20,
    routers=(
        "backoffice.api",
        "backoffice.auth_views",
        "backoffice.queue_views",
        "backoffice.case_views",
        "backoffice.admin_views",
    ),
    tables=("backoffice.models",),
    templates=("templates",),
)
