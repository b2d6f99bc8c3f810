"""Residents: reports by pole number from the public page, their tracking codes, and Open311 GeoReport v2."""
