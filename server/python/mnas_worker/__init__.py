"""Child-training worker of mnas-studio: builds a resolved architecture (Arch JSON) as a
PyTorch module, trains it on a proxy task and reports held-out accuracy. Driven over a
line-delimited JSON protocol on stdin/stdout (see docs/worker-protocol.md)."""

__all__ = ["PROTOCOL_VERSION"]

PROTOCOL_VERSION = 1
