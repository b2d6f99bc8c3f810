"""Decoders and the ordered ingest pipeline (HTTP, MQTT, GPS)."""
