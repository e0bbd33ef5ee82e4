"""sriovirt.objects."""
