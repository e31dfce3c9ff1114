"""How intake declares itself to the kernel (entry point ``servicepoint.domains``)."""

from servicepoint.domains import Domain

DOMAIN = Domain(
    package="intake",
    order=10,
    routers=(
        "intake.portal.api",
        "intake.assistant.api",
        "intake.assistant.views",
        "intake.portal.views",
    ),
    tables=("intake.applications.models", "intake.assistant.models"),
    commands=("intake.cli",),
    templates=("portal/templates", "applications/templates", "assistant/templates"),
)
