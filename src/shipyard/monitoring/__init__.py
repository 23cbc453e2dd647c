"""Monitoring: reference profiles, drift of live traffic against them, reports."""
