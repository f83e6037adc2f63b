"""conformal."""

__all__ = []
