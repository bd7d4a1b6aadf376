"""Leaf utilities with no knowledge of the domain: atomic files, argument checks, one-line CLI errors."""
