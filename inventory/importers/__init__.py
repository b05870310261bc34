"""Importers that bring real estates into the inventory (RVTools exports of a vCenter)."""
