"""Pure object model: ids and hashing, chunking, canonical object encoding, name rules, URIs.

Nothing here does I/O beyond reading local files to chunk them, and nothing here imports
storage, catalog, integration or UI packages (checked by import-linter).
"""
