"""Analyses of trained models and data: metrics, embeddings, and the plots reports show."""
