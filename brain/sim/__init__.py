"""The simulator that makes the demo district live."""
