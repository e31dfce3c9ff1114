"""The citizen portal: pages (``views``, ``status_views``, ``pages``, ``forms``), the
draft and its rate limits (``portal``), the JSON API under ``/api/v1`` (``api``) and the
templates under ``templates/intake/``.

Public face: the modules in ``__all__``. The app collects ``views.router`` and
``api.router``; ``flows`` purges abandoned uploads through ``portal``; the assistant's
pages use the form helpers of ``pages`` and limit questions with ``portal.SlidingWindow``.
Nothing outside ``intake`` imports ``forms`` or ``status_views``.
"""

__all__ = [
    "api",
    "pages",
    "portal",
    "views",
]
