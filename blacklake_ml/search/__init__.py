"""Search over stored models and datasets: cards built from extracted facts, BM25 full text
in the catalog, dense vectors in FAISS, hybrid ranking, and chunk-sketch similarity."""
