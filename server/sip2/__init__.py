"""The SIP2 (3M SIP 2.00) server for self-check machines, on top of the circulation service."""
