"""Orders, their line items and the legacy order log inherited from the old platform."""
