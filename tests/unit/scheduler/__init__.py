"""Unit tests of sriovirt.scheduler."""
