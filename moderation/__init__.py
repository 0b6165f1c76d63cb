"""Content-moderation policy service for Vietnamese blog and social platforms."""

__version__ = "0.1.0"
