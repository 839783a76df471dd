"""govstats: comparative data and honest panel inference on local public-security governance."""

__version__ = "0.1.0"
