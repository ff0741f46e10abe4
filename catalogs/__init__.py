"""Default catalogs (CSV), shipped as package data; ``perfmodel.catalog_set`` finds them here."""
