"""wsrun: declarative WebSocket scenarios, run and checked."""

__version__ = "0.1.0"
