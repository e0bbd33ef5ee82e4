"""sriovirt.virt.libvirt.xml."""
