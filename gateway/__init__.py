"""Complaint gateway: anonymous reports from any channel to the case-tracking system."""

__all__ = ["__version__"]
__version__ = "0.1.0"
