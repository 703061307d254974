"""Monitoring and early warning: delivery deadlines, alerts and their channels, anomaly warnings."""
