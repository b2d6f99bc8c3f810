from .DistrictMap import DistrictMap

__all__ = [
    "DistrictMap"
]