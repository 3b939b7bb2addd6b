"""Scorers shared by several tasks."""
