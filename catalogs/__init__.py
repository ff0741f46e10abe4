"""Default catalogs (CSV), shipped as package data; ``perfmodel.catalog.folder`` finds them here."""
