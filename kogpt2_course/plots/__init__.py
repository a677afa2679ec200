"""Plots with Korean labels: figure setup and saving, token-distribution and metric charts, the class report's heat map."""
