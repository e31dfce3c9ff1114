"""tutorials package."""
