"""Advice layer: brief -> rules -> recommendation -> messaging. Pure Python: never imports torch."""
