"""How things look on the map: one module per layer, domain state -> plotly traces."""
