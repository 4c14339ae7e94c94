"""Open311 GeoReport v2 at /open311/v2/: other systems file and follow PAKN with the standard's fields."""
