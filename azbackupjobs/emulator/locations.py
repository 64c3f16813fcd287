"""``GET /subscriptions/{sub}/locations``: ARM's regions, and which region pairs with which.

Cross-region-restore jobs are read in a vault's *paired* region, which clients find here
(``metadata.pairedRegion``, an array) from the vault's location. The table keeps the traits of
the recorded list that clients must cope with: pairs that are not symmetric (westus3 -> eastus,
eastus -> westus), physical regions with an empty pair list (italynorth, polandcentral),
logical regions without the key at all, and zone mappings on zonal regions only. It is the one
place the emulator learns pairs from (no other region table).
"""

from __future__ import annotations

from typing import Any, Final

# name, display name, geography, group, longitude, latitude, physical location, pair, zonal
# (pair None: a logical region, no pairedRegion key; "": a physical region without a pair).
_REGIONS: Final = (
    ("westeurope", "West Europe", "Europe", "Europe", "4.9", "52.3667", "Netherlands",
     "northeurope", True),
    ("northeurope", "North Europe", "Europe", "Europe", "-6.2597", "53.3478", "Ireland",
     "westeurope", True),
    ("italynorth", "Italy North", "Italy", "Europe", "9.18109", "45.46888", "Milan", "", True),
    ("polandcentral", "Poland Central", "Poland", "Europe", "21.01666", "52.23334", "Warsaw", "",
     True),
    ("eastus", "East US", "United States", "US", "-79.8164", "37.3719", "Virginia", "westus",
     True),
    ("westus", "West US", "United States", "US", "-122.417", "37.783", "California", "eastus",
     False),
    ("westus3", "West US 3", "United States", "US", "-112.074036", "33.448376", "Phoenix",
     "eastus", True),
    ("eastus2euap", "East US 2 EUAP", "Canary (US)", "US", "-78.3889", "36.6681", "",
     "centraluseuap", True),
    ("centraluseuap", "Central US EUAP", "Canary (US)", "US", "-93.6208", "41.5908", "",
     "eastus2euap", True),
    ("global", "Global", "", "", "", "", "", None, False),
    ("europe", "Europe", "", "", "", "", "", None, False),
)  # fmt: skip
# The Microsoft.Resources api-version the az CLI sends for ``az account list-locations``.
RECORDED_API_VERSION: Final = "2022-12-01"


def normalize(region: str) -> str:
    """``West Europe`` and ``westeurope`` are one region."""
    return region.replace(" ", "").lower()


def paired_region(region: str) -> str | None:
    """The region a region pairs with, or None (no pair, a logical region, or unknown)."""
    wanted = normalize(region)
    for name, *_, pair, _zonal in _REGIONS:
        if name == wanted:
            return pair or None
    return None


def _entry(subscription: str, row: tuple[Any, ...]) -> dict[str, Any]:
    name, display, geography, group, longitude, latitude, place, pair, zonal = row
    base = f"/subscriptions/{subscription}/locations"
    entry: dict[str, Any] = {
        "id": f"{base}/{name}",
        "name": name,
        "type": "Region",
        "displayName": display,
    }
    if pair is None:
        entry["regionalDisplayName"] = display
        entry["metadata"] = {"regionType": "Logical", "regionCategory": "Other"}
        return entry
    entry["regionalDisplayName"] = f"({group}) {display}"
    metadata: dict[str, Any] = {
        "regionType": "Physical",
        "regionCategory": "Recommended" if not name.endswith("euap") else "Other",
        "geography": geography,
        "geographyGroup": group,
        "longitude": longitude,
        "latitude": latitude,
        "physicalLocation": place,
        "pairedRegion": [{"name": pair, "id": f"{base}/{pair}"}] if pair else [],
    }
    entry["metadata"] = metadata
    if zonal:
        entry["availabilityZoneMappings"] = [
            {"logicalZone": str(zone), "physicalZone": f"{name}-az{physical}"}
            for zone, physical in ((1, 3), (2, 1), (3, 2))
        ]
    return entry


def list_locations(subscription: str) -> dict[str, Any]:
    """The whole list in one answer (no nextLink key, as recorded)."""
    return {"value": [_entry(subscription, row) for row in _REGIONS]}
