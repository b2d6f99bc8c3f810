"""The HTTP API (JSON under /api/v1, documented in the OpenAPI document at /api/v1/openapi.json)."""
