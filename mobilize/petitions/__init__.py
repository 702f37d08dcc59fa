"""Petitions: the ask, its targets, and signatures counted at scale."""
