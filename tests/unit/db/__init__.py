"""Tests of sriovirt.db."""
