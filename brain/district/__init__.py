"""The district's static geography as stored rows, seeded from a district folder."""
