"""sriovirt: SR-IOV ports and virtio packed virtqueues, Nova-style."""
