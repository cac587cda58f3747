"""HTTP surface shared by every domain: dependencies, health, metrics and the ``/api/v1`` router."""
