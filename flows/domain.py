"""How flows declare themselves to the kernel (entry point ``servicepoint.domains``)."""

from servicepoint.domains import Domain

DOMAIN = Domain(
    package="flows",
    order=50,
    flow_runner="flows.runner",
    warm_start="flows.warm_start",
)
