"""Static geography of the district: coordinates, gazetteer, importer and the demo data set."""
