"""Readers for the file formats datasets are published in; each fails with an `NnlabError`."""
