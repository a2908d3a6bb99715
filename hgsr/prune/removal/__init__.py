"""How channels are removed (mechanism): the dependency graph of coupled channels, physical surgery,
silencing, masked fine-tuning, compact files and inference folding. Nothing here decides *which* channels."""
