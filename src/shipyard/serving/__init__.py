"""The serving gateway: standard protocols in front of registered model versions."""
