"""sriovirt.compute."""
