"""Helpers for the course module: data, stimuli, training, metrics and plotting."""
