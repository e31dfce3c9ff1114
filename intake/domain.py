"""How intake declares itself to the kernel (entry point ``servicepoint.domains``)."""

from servicepoint.domains import Domain

DOMAIN = Domain(
    package="intake",
    order=10,
    routers=("intake.api", "intake.assistant.api", "intake.assistant.views", "intake.views"),
    tables=("intake.models", "intake.assistant.models"),
    commands=("intake.cli",),
    templates=("templates", "assistant/templates"),
)
