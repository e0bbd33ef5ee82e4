"""sriovirt.network."""
