"""Sphinx configuration for the sriovirt documentation."""

project = "sriovirt"
copyright = "2026, the sriovirt developers"
extensions: list[str] = []
master_doc = "index"
exclude_patterns = ["_build"]
html_theme = "alabaster"
