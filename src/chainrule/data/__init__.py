"""Datasets and the DataLoader."""
