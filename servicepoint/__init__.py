"""servicepoint package."""
