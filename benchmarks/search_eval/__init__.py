"""Labelled evaluation set for model search (cards, queries, judgments) and its metrics."""
