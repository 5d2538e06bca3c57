"""synthetic_melody: generated mixtures (see its dataset builder module)."""
