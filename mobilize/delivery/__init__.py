"""Delivering petition signatures to their targets, by email and by signed webhook, exactly once."""
