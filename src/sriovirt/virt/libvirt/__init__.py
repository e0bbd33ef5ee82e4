"""sriovirt.virt.libvirt."""
