"""The catalog: bibliographic records (MARC21 kept whole), holdings per library and items."""
