"""Events: the typed record of every state change, the append-only log and the bus."""

from brain.events.bus import Bus, MemoryBus
from brain.events.types import Event

__all__ = ["Bus", "Event", "MemoryBus"]
