"""A small client for cygno-gateway, for notebooks: runs as dicts, clusters and events as
DataFrames read from the gateway's Arrow export, camera images as numpy arrays."""

from .gateway import Gateway, GatewayError

__all__ = ["Gateway", "GatewayError"]
