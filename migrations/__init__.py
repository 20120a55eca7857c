"""Numbered on-disk format upgrades, one module per step. Format version 1 is the first: none yet."""
