"""sriovirt.cmd."""
