"""Reading places (compounds, buildings, homes); personal data leaves only masked unless unmasked."""

from __future__ import annotations

from sqlalchemy import select

from brain.district.models import Place
from brain.events.log import Store
from brain.privacy import mask_address, mask_place


class PlaceNotFound(LookupError):
    pass


class PlaceService:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _row(self, place_id: str) -> dict:
        with self.store.db.read() as s:
            p = s.get(Place, place_id)
            if p is None:
                raise PlaceNotFound(f"no place {place_id}")
            return {"id": p.id, "kind": p.kind, "name": p.name, "parent": p.parent_id,
                    "committee": p.committee_code, "address": p.address, "occupant": p.occupant,
                    "phone": p.phone, "age": p.age, "living_alone": p.living_alone, "lon": p.lon, "lat": p.lat}

    def resident_names(self) -> list[str]:
        """The names of the residents the district knows (personal data: for masking them in free text)."""
        with self.store.db.read() as s:
            return sorted(set(s.scalars(select(Place.occupant).where(Place.occupant.is_not(None)))))

    def get(self, place_id: str) -> dict:
        """A place with its personal fields masked."""
        return mask_place(self._row(place_id))

    def unmask(self, place_id: str, *, actor: str, reason: str, source: str | None = None) -> dict:
        """A place with personal data in clear; writes an audit row naming who, why and from where."""
        if not (reason or "").strip():
            raise ValueError("unmasking needs a reason")
        row = self._row(place_id)
        self.store.audit(actor=actor, action="privacy.unmask", subject=f"place:{place_id}", source=source,
                         detail={"reason": reason.strip()[:500], "fields": ["occupant", "phone", "address", "age"]})
        return {**row, "masked": False}


def device_places(district) -> dict[str, str]:
    """Where each device is, in words the wall may show: its home's address with the room masked
    (和畅花园2号楼****室), its building's or its compound's name; devices with no place are left out."""
    places = district.places
    if len(places) == 0 or len(district.devices) == 0 or "place" not in district.devices:
        return {}
    rows = {str(r.id): r for r in places.itertuples(index=False)}

    def words(place_id: str) -> str | None:
        p = rows.get(place_id)
        if p is None:
            return None
        if p.kind == "home":
            return mask_address(str(p.address or p.name))
        return str(p.address or p.name) if isinstance(p.address, str) and p.address else str(p.name)

    out = {}
    for device_id, place_id in zip(district.devices["id"], district.devices["place"], strict=True):
        w = words(str(place_id)) if isinstance(place_id, str) else None
        if w:
            out[str(device_id)] = w
    return out
