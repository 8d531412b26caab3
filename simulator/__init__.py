"""Simulated AI API usage in the finops data contract."""
