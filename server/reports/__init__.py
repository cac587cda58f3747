"""Statistics and reports for a library and the libraries below it (charts, CSV/XLSX, self-evaluation)."""
