"""The provincial union catalog: harvesting other libraries, keeping their originals, matching duplicates."""
