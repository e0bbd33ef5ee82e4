"""sriovirt.db."""
