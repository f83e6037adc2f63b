"""calibration."""

__all__ = []
