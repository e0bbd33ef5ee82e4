"""sriovirt.placement."""
