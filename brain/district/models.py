"""Tables of the static geography: committees, grid cells, roads, poles, places, devices.

Geometry is stored as GeoJSON text in WGS-84; points also as `lon`/`lat` columns so that
queries and projections need no geometry library.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from brain.storage.db import Base, UTCDateTime


class Committee(Base):
    __tablename__ = "committees"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    geometry: Mapped[str] = mapped_column(Text)


class GridCell(Base):
    __tablename__ = "grid_cells"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    committee_code: Mapped[str | None] = mapped_column(ForeignKey("committees.code"), index=True)
    geometry: Mapped[str] = mapped_column(Text)


class Road(Base):
    __tablename__ = "roads"
    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))
    road_class: Mapped[str] = mapped_column(String(20))
    from_node: Mapped[str] = mapped_column(String(20), index=True)
    to_node: Mapped[str] = mapped_column(String(20), index=True)
    length_m: Mapped[float] = mapped_column(Float)
    geometry: Mapped[str] = mapped_column(Text)


class Pole(Base):
    __tablename__ = "poles"
    number: Mapped[str] = mapped_column(String(32), primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str | None] = mapped_column(String(20))
    road: Mapped[str | None] = mapped_column(String(100))
    grid_code: Mapped[str | None] = mapped_column(String(20), index=True)
    committee_code: Mapped[str | None] = mapped_column(String(12), index=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)


class Place(Base):
    """A compound (小区), building or home; homes of elderly residents carry personal data."""

    __tablename__ = "places"
    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[str | None] = mapped_column(String(20), index=True)
    committee_code: Mapped[str | None] = mapped_column(String(12), index=True)
    floors: Mapped[int | None] = mapped_column(Integer)
    address: Mapped[str | None] = mapped_column(String(200))
    occupant: Mapped[str | None] = mapped_column(String(100))  # personal data: masked on the wall
    phone: Mapped[str | None] = mapped_column(String(32))  # personal data
    age: Mapped[int | None] = mapped_column(Integer)
    living_alone: Mapped[bool] = mapped_column(Boolean, default=False)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    geometry: Mapped[str] = mapped_column(Text)


class Device(Base):
    __tablename__ = "devices"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(20), index=True)
    place_id: Mapped[str | None] = mapped_column(ForeignKey("places.id"), index=True)
    heartbeat_s: Mapped[int] = mapped_column(Integer, default=3600)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    online: Mapped[bool] = mapped_column(Boolean, default=True)
    maintenance: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a door opened, water ran (welfare)
    extra: Mapped[dict | None] = mapped_column(JSON)
