"""Tests of sriovirt.objects."""
