"""sriovirt.virt."""
