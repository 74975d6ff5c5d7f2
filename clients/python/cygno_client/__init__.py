"""A small client for cygno-gateway, for notebooks: lists of dicts ready for pandas."""

from .gateway import Gateway, GatewayError

__all__ = ["Gateway", "GatewayError"]
