"""uncertainty."""

__all__ = []
