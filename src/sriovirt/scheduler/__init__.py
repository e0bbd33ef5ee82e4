"""sriovirt.scheduler."""
