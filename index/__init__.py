"""Turning files into cited-ready Chroma entries: load, segment, chunk, embed, store."""
